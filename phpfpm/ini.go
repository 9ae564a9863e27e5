package phpfpm

import (
	"errors"
	"fmt"
	"strings"
)

// lineKind says what one configuration line holds.
type lineKind int

const (
	lineBlank   lineKind = iota // Empty or a ';' comment.
	lineSection                 // [name]
	lineEntry                   // key = value, or name[index] = value
)

// line is one configuration line after INI parsing. php-fpm hands each line
// to PHP's INI parser on its own, so nothing (not even a quoted string)
// continues onto the next line.
type line struct {
	kind  lineKind
	name  string // Section name, or the entry's key.
	index string // The part in brackets of env[NAME].
	array bool   // The key had brackets.
	value string // After unquoting, ${VAR} expansion and INI keywords.
}

// lookupFunc finds an environment variable, like os.LookupEnv.
type lookupFunc func(string) (string, bool)

// parseLine parses one line in the INI dialect PHP uses in its
// ZEND_INI_SCANNER_NORMAL mode, which is the one php-fpm uses.
func parseLine(text string, lookup lookupFunc) (line, error) {
	text = strings.TrimLeft(text, " \t")
	switch {
	case text == "" || text[0] == ';':
		return line{kind: lineBlank}, nil
	case text[0] == '#':
		// PHP 7 dropped '#' comments from INI files; php-fpm 8.2 rejects
		// such a line ("value is NULL") or reads it as an unknown key.
		return line{}, errors.New("'#' does not start a comment in php-fpm's configuration; use ';'")
	case text[0] == '[':
		return parseSection(text)
	}
	eq := strings.IndexAny(text, "=;")
	if eq < 0 || text[eq] == ';' {
		return line{}, fmt.Errorf("%q has no '=' and no value", strings.TrimSpace(text))
	}
	l, err := parseKey(strings.TrimRight(text[:eq], " \t"))
	if err != nil {
		return line{}, err
	}
	l.value, err = parseValue(text[eq+1:], lookup)
	if err != nil {
		return line{}, fmt.Errorf("%s: %w", strings.TrimSpace(text[:eq]), err)
	}
	return l, nil
}

// parseSection parses "[name]", keeping the name exactly as written between
// the brackets, as PHP does.
func parseSection(text string) (line, error) {
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return line{}, fmt.Errorf("section %q has no closing ']'", text)
	}
	name := text[1:end]
	if name == "" || strings.ContainsAny(name, "[;") {
		return line{}, fmt.Errorf("bad section name %q", text[:end+1])
	}
	if rest := strings.TrimLeft(text[end+1:], " \t"); rest != "" && rest[0] != ';' {
		return line{}, fmt.Errorf("unexpected %q after section [%s]", rest, name)
	}
	return line{kind: lineSection, name: name}, nil
}

// parseKey parses "key" or "name[index]".
func parseKey(key string) (line, error) {
	if key == "" || strings.ContainsAny(key, "\"'$!()~&|^{}") {
		return line{}, fmt.Errorf("bad key %q", key)
	}
	open := strings.IndexByte(key, '[')
	if open < 0 {
		return line{kind: lineEntry, name: key}, nil
	}
	closing := strings.LastIndexByte(key, ']')
	if closing < open || closing != len(key)-1 || open == 0 {
		return line{}, fmt.Errorf("bad key %q", key)
	}
	index := strings.Trim(strings.TrimSpace(key[open+1:closing]), `"'`)
	return line{kind: lineEntry, name: strings.TrimSpace(key[:open]), index: index, array: true}, nil
}

// pieceKind is how a piece of a value was written.
type pieceKind int

const (
	pieceRaw      pieceKind = iota // Unquoted text.
	pieceSingle                    // '...': literal.
	pieceDouble                    // "...": escapes and ${VAR} expanded.
	pieceVariable                  // ${VAR} or ${VAR:-fallback}.
)

type piece struct {
	kind pieceKind
	text string
}

// parseValue turns what follows '=' into the string php-fpm receives.
func parseValue(s string, lookup lookupFunc) (string, error) {
	var pieces []piece
	var raw strings.Builder
	flush := func() {
		if raw.Len() > 0 {
			pieces = append(pieces, piece{pieceRaw, raw.String()})
			raw.Reset()
		}
	}
	for i := 0; i < len(s) && s[i] != ';'; {
		p, n, err := quotedPiece(s[i:], lookup)
		switch {
		case err != nil:
			return "", err
		case n > 0:
			flush()
			pieces = append(pieces, p)
			i += n
		case strings.IndexByte("=!()~", s[i]) >= 0:
			return "", fmt.Errorf("unquoted %q is a syntax error to php-fpm; quote the value", s[i])
		case strings.IndexByte("&|^", s[i]) >= 0:
			// PHP evaluates these as bitwise operators on numbers, which
			// no php-fpm setting wants; refuse instead of guessing.
			return "", fmt.Errorf("unquoted %q is an INI expression operator; quote the value", s[i])
		default:
			raw.WriteByte(s[i])
			i++
		}
	}
	flush()
	return joinPieces(pieces)
}

// quotedPiece reads a quoted string or a ${VAR} reference at the start of s
// and returns it with the bytes it used, or n == 0 when s starts with
// neither.
func quotedPiece(s string, lookup lookupFunc) (p piece, n int, err error) {
	switch {
	case s[0] == '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return piece{}, 0, errors.New("unterminated single-quoted string")
		}
		return piece{pieceSingle, s[1 : end+1]}, end + 2, nil
	case s[0] == '"':
		text, n, err := readDoubleQuoted(s[1:], lookup)
		return piece{pieceDouble, text}, n + 1, err
	case strings.HasPrefix(s, "${"):
		text, n, err := readVariable(s, lookup)
		return piece{pieceVariable, text}, n, err
	}
	return piece{}, 0, nil
}

// readDoubleQuoted reads up to the closing quote: \" \\ and \$ are escapes,
// any other backslash stays, and ${VAR} is expanded.
func readDoubleQuoted(s string, lookup lookupFunc) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case s[i] == '"':
			return b.String(), i + 1, nil
		case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0:
			b.WriteByte(s[i+1])
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			v, n, err := readVariable(s[i:], lookup)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(v)
			i += n
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return "", 0, errors.New("unterminated double-quoted string")
}

// readVariable expands the ${NAME} or ${NAME:-fallback} at the start of s.
// The fallback form is PHP 8.3's; a fallback may itself hold ${...}. PHP
// looks NAME up among php.ini's settings before the environment; only the
// environment is known here.
func readVariable(s string, lookup lookupFunc) (string, int, error) {
	depth := 0
	for i := 2; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == '}':
			name, fallback, hasFallback := strings.Cut(s[2:i], ":-")
			if name == "" {
				return "", 0, errors.New("empty variable name in ${}")
			}
			if v, ok := lookup(name); ok {
				return v, i + 1, nil
			}
			if !hasFallback {
				return "", i + 1, nil
			}
			v, err := expandVariables(fallback, lookup)
			return v, i + 1, err
		}
	}
	return "", 0, fmt.Errorf("unterminated %q", s)
}

// expandVariables expands every ${...} in a fallback's text.
func expandVariables(s string, lookup lookupFunc) (string, error) {
	var b strings.Builder
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		v, n, err := readVariable(s[start:], lookup)
		if err != nil {
			return "", err
		}
		b.WriteString(s[:start])
		b.WriteString(v)
		s = s[start+n:]
	}
}

// joinPieces concatenates a value's pieces as PHP does: the value is trimmed,
// unquoted text loses the blanks next to a double-quoted string (a "b" is
// "ab") but keeps those next to ${VAR} or a single-quoted string, and a lone
// unquoted keyword becomes "1" (true, on, yes) or "" (false, off, no, none,
// null).
func joinPieces(pieces []piece) (string, error) {
	if len(pieces) == 1 && pieces[0].kind == pieceRaw {
		return keywordValue(strings.Trim(pieces[0].text, " \t"))
	}
	var b strings.Builder
	for i, p := range pieces {
		text := p.text
		if p.kind == pieceRaw {
			if i == 0 || pieces[i-1].kind == pieceDouble {
				text = strings.TrimLeft(text, " \t")
			}
			if i == len(pieces)-1 || pieces[i+1].kind == pieceDouble {
				text = strings.TrimRight(text, " \t")
			}
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

// keywordValue applies PHP's INI keywords to an unquoted value.
func keywordValue(v string) (string, error) {
	first, rest, more := v, "", false
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		first, rest, more = v[:i], strings.TrimLeft(v[i:], " \t"), true
	}
	switch strings.ToLower(first) {
	case "true", "on", "yes":
		if !more {
			return "1", nil
		}
	case "false", "off", "no", "none", "null":
		if !more {
			return "", nil
		}
	default:
		return v, nil
	}
	return "", fmt.Errorf("%q after the INI keyword %q is a syntax error to php-fpm; quote the value", rest, first)
}

package nginx

import (
	"fmt"
	"strings"
)

// stop is what ended a statement.
type stop int

const (
	stopSemicolon  stop = iota // `;`: a simple directive.
	stopBlockStart             // `{`: the directive opens a block.
	stopBlockEnd               // `}`: the enclosing block closes; the statement has no words.
	stopEOF                    // End of file; the statement has no words.
)

// statement is one directive's words as read, before the parser gives them
// meaning.
type statement struct {
	words []string
	line  int // Line of the first word, or of the stop when there are none.
	stop  stop
}

// lexer splits one file into statements the way nginx's
// ngx_conf_read_token does, including its quirks, so that what Load sees is
// what nginx will see: `#` starts a comment only where a word could start,
// `}` ends a block only where a word could start, and `${` keeps a variable's
// brace inside its word.
type lexer struct {
	file string
	src  string
	pos  int
	line int
}

func newLexer(file, src string) *lexer {
	return &lexer{file: file, src: src, line: 1}
}

// errorf formats a parse error the way nginx does: message, file and the
// current line.
func (l *lexer) errorf(format string, args ...any) error {
	return fmt.Errorf("%s in %s:%d", fmt.Sprintf(format, args...), l.file, l.line)
}

// next returns the next statement.
func (l *lexer) next() (statement, error) {
	var st statement
	for {
		l.skipBlanks()
		if len(st.words) == 0 {
			st.line = l.line
		}
		if l.pos >= len(l.src) {
			if len(st.words) > 0 {
				return st, l.errorf(`unexpected end of file, expecting ";" or "}"`)
			}
			st.stop = stopEOF
			return st, nil
		}
		switch c := l.src[l.pos]; c {
		case ';', '{':
			if len(st.words) == 0 {
				return st, l.errorf(`unexpected "%c"`, c)
			}
			l.pos++
			st.stop = stopSemicolon
			if c == '{' {
				st.stop = stopBlockStart
			}
			return st, nil
		case '}':
			if len(st.words) > 0 {
				return st, l.errorf(`unexpected "}"`)
			}
			l.pos++
			st.stop = stopBlockEnd
			return st, nil
		}
		w, err := l.word()
		if err != nil {
			return st, err
		}
		st.words = append(st.words, w)
	}
}

// skipBlanks skips whitespace and comments between words.
func (l *lexer) skipBlanks() {
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '\n':
			l.line++
		case ' ', '\t', '\r':
		case '#':
			end := strings.IndexByte(l.src[l.pos:], '\n')
			if end < 0 {
				l.pos = len(l.src)
				return
			}
			l.pos += end
			continue
		default:
			return
		}
		l.pos++
	}
}

// advance moves past n bytes, counting the newlines it passes.
func (l *lexer) advance(n int) {
	end := min(l.pos+n, len(l.src))
	l.line += strings.Count(l.src[l.pos:end], "\n")
	l.pos = end
}

// word reads one word starting at the current position, which is neither
// blank nor a stop character.
func (l *lexer) word() (string, error) {
	if q := l.src[l.pos]; q == '"' || q == '\'' {
		return l.quoted(q)
	}
	start := l.pos
	afterDollar := false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\\':
			// The escaped byte never ends the word, whatever it is.
			l.advance(2)
			afterDollar = false
			continue
		case c == '{' && afterDollar:
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{':
			return unescape(l.src[start:l.pos]), nil
		}
		afterDollar = c == '$'
		l.advance(1)
	}
	return unescape(l.src[start:l.pos]), nil
}

// quoted reads a word in quotes q; the quotes are not part of it.
func (l *lexer) quoted(q byte) (string, error) {
	l.advance(1)
	start := l.pos
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '\\':
			l.advance(2)
			continue
		case q:
			w := unescape(l.src[start:l.pos])
			l.advance(1)
			return w, l.afterQuote()
		}
		l.advance(1)
	}
	return "", l.errorf(`unexpected end of file, expecting ";" or "}"`)
}

// afterQuote checks what follows a closing quote: nginx wants a separator
// there, so `"a"b` and `"a"#c` are errors rather than one word. `)` is
// allowed because `if ($x = "y")` is common.
func (l *lexer) afterQuote() error {
	if l.pos >= len(l.src) {
		return nil
	}
	switch c := l.src[l.pos]; c {
	case ' ', '\t', '\r', '\n', ';', '{', ')':
		return nil
	default:
		return l.errorf(`unexpected "%c"`, c)
	}
}

// unescape applies nginx's escapes: \" \' \\ stand for the quoted byte, \t \r
// \n for control characters, and any other backslash stays, because regular
// expressions in locations and rewrites rely on `\d` and `\.` reaching PCRE.
func unescape(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			if c, ok := escaped(raw[i+1]); ok {
				b.WriteByte(c)
				i++
				continue
			}
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

// escaped returns the byte that a backslash followed by c stands for, and
// false when the backslash stays.
func escaped(c byte) (byte, bool) {
	switch c {
	case '"', '\'', '\\':
		return c, true
	case 't':
		return '\t', true
	case 'r':
		return '\r', true
	case 'n':
		return '\n', true
	}
	return 0, false
}

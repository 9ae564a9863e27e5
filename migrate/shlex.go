package migrate

import (
	"errors"
	"fmt"
	"strings"
)

// splitCommand splits a command as supervisord does before it executes it
// without a shell: Python's shlex.split, POSIX rules, no comments. Quotes
// group and are removed; a backslash escapes the next character, inside
// double quotes only '"' and '\'; nothing is expanded.
func splitCommand(s string) ([]string, error) {
	var args []string
	var tok strings.Builder
	inWord, quoted := false, false
	emit := func() {
		if inWord || quoted {
			args = append(args, tok.String())
		}
		tok.Reset()
		inWord, quoted = false, false
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			emit()
		case c == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("no escaped character after the final backslash")
			}
			i++
			tok.WriteRune(rs[i])
			inWord = true
		case c == '\'' || c == '"':
			quoted = true
			end := -1
			for j := i + 1; j < len(rs); j++ {
				if rs[j] == c {
					end = j
					break
				}
				if c == '"' && rs[j] == '\\' && j+1 < len(rs) {
					if rs[j+1] != '"' && rs[j+1] != '\\' {
						tok.WriteRune('\\')
					}
					j++
				}
				tok.WriteRune(rs[j])
			}
			if end < 0 {
				return nil, fmt.Errorf("no closing quotation (%c)", c)
			}
			i = end
		default:
			tok.WriteRune(c)
			inWord = true
		}
	}
	emit()
	return args, nil
}

// envWordChars are the characters of a word in supervisord's KEY=val list
// (Python's non-POSIX shlex wordchars plus what supervisord adds).
const envWordChars = "abcdfeghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.+-():"

// envTokens splits an environment= value into tokens as Python's
// non-POSIX shlex does there: words, quoted strings with their quotes,
// and every other character alone; '#' skips to the end of the line.
func envTokens(s string) ([]string, error) {
	var toks []string
	rs := []rune(s)
	isWord := func(r rune) bool { return r < 128 && strings.ContainsRune(envWordChars, r) }
	skipLine := func(i int) int {
		for i < len(rs) && rs[i] != '\n' {
			i++
		}
		return i + 1
	}
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#':
			i = skipLine(i)
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(rs) && rs[j] != c {
				j++
			}
			if j == len(rs) {
				return nil, errors.New("no closing quotation")
			}
			toks = append(toks, string(rs[i:j+1]))
			i = j + 1
		case isWord(c):
			// A word goes on through word characters and quotes; a '#'
			// inside it skips the rest of the line and the word goes on.
			var w strings.Builder
		word:
			for i < len(rs) {
				switch r := rs[i]; {
				case isWord(r) || r == '\'' || r == '"':
					w.WriteRune(r)
					i++
				case r == '#':
					i = skipLine(i)
				default:
					break word
				}
			}
			toks = append(toks, w.String())
		default:
			toks = append(toks, string(c))
			i++
		}
	}
	return toks, nil
}

// envPair is one NAME=value of environment=.
type envPair struct{ name, value string }

// parseEnvironment reads KEY="val",KEY2=val2 as supervisord's
// dict_of_key_value_pairs does: three tokens a pair, the fourth skipped
// (the comma), quotes stripped from the value's ends. A name set twice
// keeps its first place and its last value.
func parseEnvironment(s string) ([]envPair, error) {
	toks, err := envTokens(s)
	if err != nil {
		return nil, err
	}
	var out []envPair
	for i := 0; i < len(toks); i += 4 {
		if i+2 >= len(toks) || toks[i+1] != "=" {
			return nil, fmt.Errorf("want KEY=value pairs separated by commas, got %q", s)
		}
		p := envPair{name: toks[i], value: strings.Trim(toks[i+2], `'"`)}
		replaced := false
		for j := range out {
			if out[j].name == p.name {
				out[j].value, replaced = p.value, true
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out, nil
}

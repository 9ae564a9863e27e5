package migrate

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The INI dialect is Python's configparser as supervisord configures it
// (RawConfigParser, inline comments ';' and '#', strict off), which is
// what decides what a supervisord.conf means.

// value is one option's value and the file it was set in.
type value struct {
	text string
	file string // for %(here)s: the directory of the file that set it
	line int
}

// section is one [name] with its options in the order first set.
type section struct {
	name  string
	file  string // where it first appeared
	opts  map[string]*value
	order []string
}

// get returns an option's value, or nil.
func (s *section) get(key string) *value { return s.opts[key] }

// ini is every section of a config and its includes, merged as
// configparser merges them: a section met again gets more options, and an
// option set again takes the last value.
type ini struct {
	sections map[string]*section
	order    []string
	defaults *section // [DEFAULT]: fallbacks for every section
}

func newINI() *ini {
	return &ini{sections: make(map[string]*section), defaults: &section{name: "DEFAULT", opts: make(map[string]*value)}}
}

// section returns the named section or nil.
func (c *ini) section(name string) *section { return c.sections[name] }

// lookup finds key in s, falling back to [DEFAULT].
func (c *ini) lookup(s *section, key string) *value {
	if v := s.get(key); v != nil {
		return v
	}
	return c.defaults.get(key)
}

var (
	sectionHeader = regexp.MustCompile(`^\[(.+)\]`)
	optionText    = regexp.MustCompile(`^(.*?)\s*[=:]\s*(.*)$`)
)

// ParseError is a config file that supervisord would refuse to read.
type ParseError struct {
	File string
	Line int
	Msg  string
}

// Error returns "file:line: msg".
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// read adds the sections of one file, as configparser's _read does.
func (c *ini) read(file string, data []byte) error {
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		return &ParseError{File: file, Msg: "not a text file (invalid UTF-8 or NUL bytes): supervisord cannot read it either"}
	}
	r := &iniReader{c: c, file: file}
	for i, raw := range strings.SplitAfter(string(data), "\n") {
		if err := r.line(i+1, strings.TrimSuffix(raw, "\n")); err != nil {
			return err
		}
	}
	r.flush()
	return nil
}

// iniReader is read's state between lines.
type iniReader struct {
	c      *ini
	file   string
	cur    *section
	opt    *value   // the option that continuation lines add to
	parts  []string // its lines so far
	indent int      // of its first line
}

// flush joins the lines of the option being read into its value.
func (r *iniReader) flush() {
	if r.opt != nil {
		r.opt.text = strings.TrimRight(strings.Join(r.parts, "\n"), " \t\r\n")
	}
}

// line reads line n.
func (r *iniReader) line(n int, line string) error {
	commented := false
	text := line
	if at := commentStart(line); at >= 0 {
		text, commented = line[:at], true
	}
	text = strings.TrimSpace(text)
	if text == "" {
		// A blank line stays in a multi-line value, unless it was a
		// comment; configparser strips trailing ones at the end.
		if !commented && r.opt != nil {
			r.parts = append(r.parts, "")
		}
		return nil
	}
	level := len(line) - len(strings.TrimLeft(line, " \t\f\v\r"))
	if r.opt != nil && level > r.indent {
		r.parts = append(r.parts, text)
		return nil
	}
	r.indent = level
	if m := sectionHeader.FindStringSubmatch(text); m != nil {
		r.flush()
		r.opt, r.parts = nil, nil
		r.cur = r.c.open(m[1], r.file)
		return nil
	}
	if r.cur == nil {
		return &ParseError{File: r.file, Line: n, Msg: fmt.Sprintf("%q comes before any [section]", text)}
	}
	m := optionText.FindStringSubmatch(text)
	if m == nil || strings.TrimSpace(m[1]) == "" {
		return &ParseError{File: r.file, Line: n, Msg: fmt.Sprintf("want key = value, got %q", text)}
	}
	r.flush()
	key := strings.ToLower(strings.TrimRight(m[1], " \t"))
	r.opt = &value{text: m[2], file: r.file, line: n}
	r.parts = []string{strings.TrimSpace(m[2])}
	if _, seen := r.cur.opts[key]; !seen {
		r.cur.order = append(r.cur.order, key)
	}
	r.cur.opts[key] = r.opt
	return nil
}

// open returns the section called name, creating it on first sight.
func (c *ini) open(name, file string) *section {
	if name == "DEFAULT" {
		return c.defaults
	}
	if s, ok := c.sections[name]; ok {
		return s
	}
	s := &section{name: name, file: file, opts: make(map[string]*value)}
	c.sections[name] = s
	c.order = append(c.order, name)
	return s
}

// commentStart is where a comment starts in line, or -1: a line whose
// first non-blank is ';' or '#', or an inline ';' or '#' after a blank.
// Like configparser, it looks at the first occurrence of each prefix,
// then the second of each, and so on, and takes the first round that
// finds one after a blank (which is not always the leftmost).
func commentStart(line string) int {
	if t := strings.TrimSpace(line); strings.HasPrefix(t, ";") || strings.HasPrefix(t, "#") {
		return 0
	}
	next := map[byte]int{';': -1, '#': -1}
	for len(next) > 0 {
		found := -1
		for p, from := range next {
			i := strings.IndexByte(line[from+1:], p)
			if i < 0 {
				delete(next, p)
				continue
			}
			i += from + 1
			next[p] = i
			if i == 0 || isSpace(line[i-1]) {
				if found < 0 || i < found {
					found = i
				}
			}
		}
		if found >= 0 {
			return found
		}
	}
	return -1
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\f' || b == '\v' }

// here is the directory %(here)s stands for in v.
func (v *value) here() string {
	abs, err := filepath.Abs(filepath.Dir(v.file))
	if err != nil {
		return filepath.Dir(v.file)
	}
	return abs
}

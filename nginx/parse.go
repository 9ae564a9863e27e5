package nginx

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lnmp-init/lnmp-init/configfile"
)

// maxIncludeDepth bounds nested includes, so a file that includes itself
// fails with a message naming the include instead of exhausting memory.
const maxIncludeDepth = 100

// directive is one parsed directive, with every include already replaced by
// the directives it includes, as nginx does while reading.
type directive struct {
	name    string
	args    []string
	file    string
	line    int
	isBlock bool // The directive has a block, even an empty one.
	block   []directive
}

// where names the directive's place for error messages, as file:line.
func (d directive) where() string {
	return fmt.Sprintf("%s:%d", d.file, d.line)
}

// loader reads a main file and everything it includes, recording each file
// and pattern once, in the order nginx would first meet them.
type loader struct {
	prefix   string // Directory of the main file, ending in "/": nginx's conf prefix under -c.
	files    []string
	includes []string
}

// parseFile parses src, the contents of the file at path (absolute), into
// its top-level directives.
func (ld *loader) parseFile(path string, src []byte, depth int) ([]directive, error) {
	if !slices.Contains(ld.files, path) {
		ld.files = append(ld.files, path)
	}
	// Every file must balance its own braces: nginx parses an included file
	// on its own, so it can neither close nor leave open an outer block.
	return ld.parseBlock(newLexer(path, string(src)), depth, false)
}

// parseBlock reads directives until the enclosing block closes, or until the
// file ends when inBlock is false.
func (ld *loader) parseBlock(lx *lexer, depth int, inBlock bool) ([]directive, error) {
	var ds []directive
	for {
		st, err := lx.next()
		if err != nil {
			return nil, err
		}
		switch st.stop {
		case stopEOF:
			if inBlock {
				return nil, lx.errorf(`unexpected end of file, expecting "}"`)
			}
			return ds, nil
		case stopBlockEnd:
			if !inBlock {
				return nil, lx.errorf(`unexpected "}"`)
			}
			return ds, nil
		}
		d := directive{name: st.words[0], args: st.words[1:], file: lx.file, line: st.line}
		switch {
		case st.stop == stopBlockStart:
			d.isBlock = true
			if d.block, err = ld.parseBlock(lx, depth, true); err != nil {
				return nil, err
			}
			ds = append(ds, d)
		case d.name == "include":
			inc, err := ld.include(d, depth+1)
			if err != nil {
				return nil, err
			}
			ds = append(ds, inc...)
		default:
			ds = append(ds, d)
		}
	}
}

// include returns the directives of the files an include directive names.
// A pattern with a wildcard may match nothing; a plain name must exist. Both
// are nginx's rules: it only globs when the name holds one of "*?[".
func (ld *loader) include(d directive, depth int) ([]directive, error) {
	if len(d.args) != 1 {
		return nil, fmt.Errorf(`invalid number of arguments in "include" directive in %s`, d.where())
	}
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("include %q in %s: more than %d nested includes, does a file include itself?",
			d.args[0], d.where(), maxIncludeDepth)
	}
	pattern := d.args[0]
	if !filepath.IsAbs(pattern) {
		pattern = ld.prefix + pattern
	}
	if !slices.Contains(ld.includes, pattern) {
		ld.includes = append(ld.includes, pattern)
	}
	paths := []string{pattern}
	if strings.ContainsAny(pattern, "*?[") {
		var err error
		if paths, err = glob(pattern); err != nil {
			return nil, fmt.Errorf("include %q in %s: %w", d.args[0], d.where(), err)
		}
	}
	var ds []directive
	for _, p := range paths {
		src, err := configfile.Read(p)
		if err != nil {
			return nil, fmt.Errorf("include %q in %s: %w", d.args[0], d.where(), err)
		}
		// Syntax errors in the included file name their own file and line.
		inc, err := ld.parseFile(p, src, depth)
		if err != nil {
			return nil, err
		}
		ds = append(ds, inc...)
	}
	return ds, nil
}

// glob expands pattern as glob(3) does for nginx, which differs from
// filepath.Glob in three ways that change which files get read: matches are
// sorted as whole paths, "[!x]" negates like "[^x]", and a wildcard does not
// match the leading dot of a name, so editor backups such as ".default.swp"
// in sites-enabled stay out.
func glob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(strings.ReplaceAll(pattern, "[!", "[^"))
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	kept := matches[:0]
	for _, m := range matches {
		if !wildDot(pattern, m) {
			kept = append(kept, m)
		}
	}
	slices.Sort(kept)
	return kept, nil
}

// wildDot reports whether match has a name starting with a dot where the
// pattern's name does not, that is, where only a wildcard matched the dot.
// It compares names from the end because Glob cleans the front of the path.
func wildDot(pattern, match string) bool {
	ps := strings.Split(pattern, "/")
	ms := strings.Split(match, "/")
	for i, j := len(ps)-1, len(ms)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if strings.HasPrefix(ms[j], ".") && !strings.HasPrefix(ps[i], ".") {
			return true
		}
	}
	return false
}

package procfile

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/configfile"
	"golang.org/x/sys/unix"
)

// Program is one line of a Procfile with its options.
type Program struct {
	// Name labels the program's logs, metrics and /readyz entry.
	Name string
	// Command is what runs. After Load, Path is absolute.
	Command
	// Dir is the absolute working directory.
	Dir string
	// Env are NAME=value pairs added to lnmp-init's own environment.
	Env []string
	// StopSignal asks the program to stop (default SIGTERM). It is meant
	// for the program's whole process group, so that the children of a
	// shell get it too, as foreman and hivemind do.
	StopSignal unix.Signal
	// StopTimeout is how long a stop waits for the program; zero means as
	// long as lnmp-init's stop budget allows. The budget always bounds it.
	StopTimeout time.Duration
	// OnCrash is Restart or Exit; OnExit0 is Restart, Exit or Ignore.
	OnCrash, OnExit0 Action
	// File and Line are where the program's line is, for messages.
	File string
	Line int
}

// Error is a Procfile that cannot be used, with the line at fault.
type Error struct {
	File string
	Line int // 0 when the error is about the whole file
	Msg  string
}

// Error returns "file:line: msg".
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// reserved are the names lnmp-init uses itself, compared lower-cased.
var reserved = map[string]bool{"nginx": true, "php-fpm": true, "lnmp-init": true}

// taskName is how pre-start tasks are called in logs, so no program may.
var taskName = regexp.MustCompile(`^pre-start-[0-9]+$`)

// Reserved reports whether lnmp-init calls something of its own name, in
// any case: nginx, php-fpm, itself and the pre-start tasks.
func Reserved(name string) bool {
	name = strings.ToLower(name)
	return reserved[name] || taskName.MatchString(name)
}

// programLine is "name: command", as foreman reads it.
var programLine = regexp.MustCompile(`^([A-Za-z0-9_-]+):[ \t]*(.*)$`)

// optionLine is a comment that holds options.
var optionLine = regexp.MustCompile(`^#[ \t]*` + optionPrefix + `(.*)$`)

// Load reads the Procfile at path and resolves every program: its binary
// (see Command.Resolve) and its directory, which must exist. Errors are
// *Error, naming the line.
func Load(path string) ([]Program, error) {
	data, err := configfile.Read(path) // not a FIFO, a device, a giant
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	progs, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	for i := range progs {
		if err := resolve(&progs[i]); err != nil {
			return nil, &Error{File: path, Line: progs[i].Line, Msg: progs[i].Name + ": " + err.Error()}
		}
	}
	return progs, nil
}

func resolve(p *Program) error {
	if fi, err := os.Stat(p.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("dir %s: not a directory", p.Dir)
	}
	pathEnv := os.Getenv("PATH")
	for _, e := range p.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	return p.Command.Resolve(p.Dir, pathEnv)
}

// Parse reads a Procfile's text; file names it in errors and its directory
// is where relative dirs start. It checks the syntax only: no binary is
// looked up and no directory is checked (Load does both).
func Parse(file string, data []byte) ([]Program, error) {
	base, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	ps := &parser{file: file, base: base, names: make(map[string]int)}
	for i, raw := range strings.Split(string(data), "\n") {
		if err := ps.line(i+1, strings.TrimSpace(strings.TrimSuffix(raw, "\r"))); err != nil {
			return nil, err
		}
	}
	if len(ps.pending) > 0 {
		return nil, ps.bad(ps.pending[0].line, "options with no program below them")
	}
	return ps.progs, nil
}

// parser is Parse's state between lines.
type parser struct {
	file, base string
	progs      []Program
	pending    []option       // options waiting for their program
	names      map[string]int // lower-cased name: its line
}

func (ps *parser) bad(line int, format string, args ...any) error {
	return &Error{File: ps.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// line reads line n, trimmed.
func (ps *parser) line(n int, line string) error {
	if i := strings.IndexFunc(line, isControl); i >= 0 {
		return ps.bad(n, "a control character (%q) in the line", line[i])
	}
	if line == "" {
		if len(ps.pending) > 0 {
			return ps.bad(ps.pending[0].line, "options with no program below them: a blank line ends them")
		}
		return nil
	}
	if m := optionLine.FindStringSubmatch(line); m != nil {
		opts, err := tokenizeOptions(m[1])
		if err != nil {
			return ps.bad(n, "%v", err)
		}
		for _, o := range opts {
			o.line = n
			ps.pending = append(ps.pending, o)
		}
		return nil
	}
	if strings.HasPrefix(line, "#") {
		return nil
	}
	m := programLine.FindStringSubmatch(line)
	if m == nil {
		return ps.bad(n, "want name: command, with a name of letters, digits, _ and -; got %q", line)
	}
	return ps.program(n, m[1], m[2])
}

// program reads the program on line n with the pending options.
func (ps *parser) program(n int, name, text string) error {
	p, at, err := program(name, text, ps.pending, ps.base)
	if err != nil {
		if at == 0 {
			at = n
		}
		return ps.bad(at, "%s: %v", name, err)
	}
	ps.pending = nil
	key := strings.ToLower(p.Name)
	if Reserved(key) {
		return ps.bad(n, "%s: the name is lnmp-init's own; choose another", p.Name)
	}
	if first, dup := ps.names[key]; dup {
		return ps.bad(n, "%s: the name is already used on line %d (names ignore case)", p.Name, first)
	}
	ps.names[key] = n
	p.File, p.Line = ps.file, n
	ps.progs = append(ps.progs, p)
	return nil
}

// isControl reports the characters no Procfile line may hold: ASCII
// controls other than tab, which no command or option needs.
func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// program builds one program from its line and options. A bad option's
// error comes with the option's line; otherwise line is 0.
func program(name, text string, opts []option, base string) (p Program, line int, err error) {
	p = Program{Name: name, StopSignal: unix.SIGTERM, OnCrash: Restart, OnExit0: Restart}
	seen := make(map[string]int)
	for _, o := range opts {
		if err := apply(&p, o, seen); err != nil {
			return p, o.line, err
		}
	}
	if p.Command, err = ParseCommand(text); err != nil {
		return p, 0, err
	}
	switch {
	case p.Dir == "":
		p.Dir = base
	case !filepath.IsAbs(p.Dir):
		p.Dir = filepath.Join(base, p.Dir)
	default:
		p.Dir = filepath.Clean(p.Dir)
	}
	return p, 0, nil
}

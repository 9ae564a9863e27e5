package procfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ShellPath is the shell that runs commands with shell syntax.
const ShellPath = "/bin/sh"

// shellChars make a command need a shell: each one means something to
// /bin/sh that a plain split on blanks would get wrong.
const shellChars = "|&;<>()$`\\\"'*?[]#~{}\n"

// shellWords are first words that are shell syntax or builtins rather than
// programs on PATH (POSIX special builtins, keywords, cd).
var shellWords = map[string]bool{
	"!": true, ".": true, ":": true, "break": true, "case": true, "cd": true,
	"continue": true, "eval": true, "exec": true, "exit": true, "export": true,
	"for": true, "if": true, "readonly": true, "return": true, "set": true,
	"shift": true, "times": true, "trap": true, "ulimit": true, "umask": true,
	"unset": true, "until": true, "while": true,
}

// Command is a command line as written, and how lnmp-init runs it.
type Command struct {
	// Text is the command as written.
	Text string
	// Shell is true when Text runs as /bin/sh -c Text.
	Shell bool
	// ShellReason says why a shell runs it, e.g. `it holds "&&"`; empty
	// when Shell is false.
	ShellReason string
	// Path is the program to execute: /bin/sh with a shell, otherwise the
	// first word, which Resolve turns into an absolute path.
	Path string
	// Args are the arguments after argv[0]: "-c", Text with a shell,
	// otherwise the remaining words.
	Args []string
}

// ParseCommand applies the shell rule (see the package doc) to text. It
// touches no file: Resolve finds the program.
func ParseCommand(text string) (Command, error) {
	words := strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 {
		return Command{}, errors.New("empty command")
	}
	c := Command{Text: text}
	switch {
	case strings.ContainsAny(text, shellChars):
		i := strings.IndexAny(text, shellChars)
		ch := text[i : i+1]
		if ch == "\n" {
			ch = "a newline"
		} else {
			ch = fmt.Sprintf("%q", ch)
		}
		c.Shell, c.ShellReason = true, "it holds "+ch
	case strings.Contains(words[0], "="):
		c.Shell, c.ShellReason = true, "it starts with an assignment, "+words[0]
	case shellWords[words[0]]:
		c.Shell, c.ShellReason = true, "it starts with the shell's "+words[0]
	}
	if c.Shell {
		c.Path, c.Args = ShellPath, []string{"-c", text}
		return c, nil
	}
	c.Path, c.Args = words[0], words[1:]
	return c, nil
}

// Argv is the whole argument vector, argv[0] included.
func (c Command) Argv() []string {
	return append([]string{c.Path}, c.Args...)
}

// How says in a few words how the command runs, for lnmp-init check:
// "/usr/bin/php, no shell" or `/bin/sh -c, as it holds "|"`.
func (c Command) How() string {
	if c.Shell {
		return ShellPath + " -c, as " + c.ShellReason
	}
	return c.Path + ", no shell"
}

// Resolve turns Path into the absolute path of an executable file: a name
// without '/' is looked up in pathEnv's absolute directories, a relative
// path is taken against dir. With a shell, it checks that /bin/sh exists.
func (c *Command) Resolve(dir, pathEnv string) error {
	if c.Shell {
		if !isExecutable(ShellPath) {
			return fmt.Errorf("%s, needed because %s, is missing or not executable", ShellPath, c.ShellReason)
		}
		return nil
	}
	if strings.Contains(c.Path, "/") {
		p := c.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if !isExecutable(p) {
			return fmt.Errorf("%s: not an executable file", p)
		}
		c.Path = p
		return nil
	}
	// Relative PATH entries are skipped: PID 1 must not run whatever its
	// working directory happens to hold.
	for _, d := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(d) {
			continue
		}
		if p := filepath.Join(d, c.Path); isExecutable(p) {
			c.Path = p
			return nil
		}
	}
	return fmt.Errorf("%s: not found in PATH (%s)", c.Path, pathEnv)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

package procfile

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// optionPrefix starts a comment that holds options, after '#' and blanks.
const optionPrefix = "lnmp:"

// option is one key=value of an option comment.
type option struct {
	key, value string
	line       int
}

// tokenizeOptions splits the text after "lnmp:" into key=value pairs
// separated by blanks. A value may be double-quoted, with \" and \\.
func tokenizeOptions(s string) ([]option, error) {
	var out []option
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		end := strings.IndexAny(s, " \t")
		if eq < 0 || (end >= 0 && end < eq) {
			word := s
			if end >= 0 {
				word = s[:end]
			}
			return nil, fmt.Errorf("option %q: want key=value", word)
		}
		key := s[:eq]
		if key == "" {
			return nil, errors.New("option with an empty key")
		}
		s = s[eq+1:]
		value, rest, err := optionValue(s)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", key, err)
		}
		out = append(out, option{key: key, value: value})
		s = rest
	}
}

// optionValue reads one value from the front of s: up to the next blank, or
// a double-quoted string.
func optionValue(s string) (value, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		if strings.ContainsAny(s[:wordEnd(s)], `"`) {
			return "", "", errors.New(`a quote inside a value; quote the whole value: key="..."`)
		}
		return s[:wordEnd(s)], s[wordEnd(s):], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			rest = s[i+1:]
			if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
				return "", "", errors.New("want a blank after the closing quote")
			}
			return b.String(), rest, nil
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
				b.WriteByte(s[i])
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated quote")
}

func wordEnd(s string) int {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return i
	}
	return len(s)
}

// Action is what lnmp-init does when a program exits on its own.
type Action int

// The actions. Not every action fits every event: a crash is restarted or
// ends the container; an exit 0 may also be left alone.
const (
	// Restart starts the program again.
	Restart Action = iota
	// Exit stops everything gracefully and ends lnmp-init.
	Exit
	// Ignore leaves the program stopped and the rest running.
	Ignore
)

var actionNames = []string{Restart: "restart", Exit: "exit", Ignore: "ignore"}

// String returns the action as the Procfile spells it.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// optionKeys are the valid keys, in the order error messages list them.
var optionKeys = []string{"stop-signal", "stop-timeout", "on-crash", "on-exit-0", "dir", "env"}

// envName is a valid environment variable name for env=.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// apply sets one option on p; seen maps the keys set so far to their line.
// dir= is kept as written: Parse resolves it against the Procfile's
// directory.
func apply(p *Program, o option, seen map[string]int) error {
	if first, dup := seen[o.key]; dup && o.key != "env" {
		return fmt.Errorf("option %s is set twice (lines %d and %d)", o.key, first, o.line)
	}
	seen[o.key] = o.line
	var err error
	switch o.key {
	case "stop-signal":
		p.StopSignal, err = ParseSignal(o.value)
	case "stop-timeout":
		p.StopTimeout, err = time.ParseDuration(o.value)
		if err != nil || p.StopTimeout <= 0 {
			err = fmt.Errorf("want a duration above zero such as 30s or 2m, got %q", o.value)
		}
	case "on-crash":
		p.OnCrash, err = parseAction(o.value, Restart, Exit)
	case "on-exit-0":
		p.OnExit0, err = parseAction(o.value, Restart, Exit, Ignore)
	case "dir":
		if o.value == "" {
			err = errors.New("want a directory, got nothing")
		}
		p.Dir = o.value
	case "env":
		err = addEnv(p, o.value)
	default:
		return fmt.Errorf("unknown option %q; the options are %s", o.key, strings.Join(optionKeys, ", "))
	}
	if err != nil {
		return fmt.Errorf("option %s: %w", o.key, err)
	}
	return nil
}

func parseAction(v string, valid ...Action) (Action, error) {
	var names []string
	for _, a := range valid {
		if v == a.String() {
			return a, nil
		}
		names = append(names, a.String())
	}
	return 0, fmt.Errorf("want %s, got %q", strings.Join(names, " or "), v)
}

func addEnv(p *Program, v string) error {
	name, _, ok := strings.Cut(v, "=")
	if !ok || !envName.MatchString(name) {
		return fmt.Errorf("want NAME=value with NAME of letters, digits and _, got %q", v)
	}
	if strings.ContainsRune(v, 0) {
		return errors.New("a NUL byte in the value")
	}
	for _, e := range p.Env {
		if strings.HasPrefix(e, name+"=") {
			return fmt.Errorf("%s is set twice", name)
		}
	}
	p.Env = append(p.Env, v)
	return nil
}

// stopSignals are the signals a stop-signal may name, in the order error
// messages list them.
var stopSignals = []unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP,
	unix.SIGKILL, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// ParseSignal reads a stop signal as TERM, SIGTERM, sigterm or 15.
func ParseSignal(v string) (unix.Signal, error) {
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	n, numErr := strconv.Atoi(v)
	var names []string
	for _, s := range stopSignals {
		if unix.SignalName(s) == name || (numErr == nil && n == int(s)) {
			return s, nil
		}
		names = append(names, strings.TrimPrefix(unix.SignalName(s), "SIG"))
	}
	return 0, fmt.Errorf("want one of %s (or SIG..., or the number), got %q", strings.Join(names, ", "), v)
}

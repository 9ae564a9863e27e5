package procfile

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Format writes programs as a Procfile that Parse reads back to the same
// programs, given a Procfile in dir: only the options that differ from the
// defaults are written, dir= relative to dir where it lies below it. A
// command or option value holding a line break does not fit on a line: an
// error.
func Format(progs []Program, dir string) (string, error) {
	var b strings.Builder
	for _, p := range progs {
		if strings.ContainsAny(p.Text, "\n\r") {
			return "", fmt.Errorf("%s: a command with a line break does not fit on a Procfile line; put it in a script", p.Name)
		}
		opts := optionsOf(p, dir)
		if strings.ContainsAny(strings.Join(opts, ""), "\n\r") {
			return "", fmt.Errorf("%s: an option value with a line break does not fit on a Procfile line", p.Name)
		}
		if len(opts) > 0 {
			b.WriteString("# " + optionPrefix + " " + strings.Join(opts, " ") + "\n")
		}
		b.WriteString(p.Name + ": " + p.Text + "\n")
	}
	return b.String(), nil
}

// optionsOf lists p's options that differ from the defaults, as key=value.
func optionsOf(p Program, dir string) []string {
	var out []string
	add := func(key, value string) { out = append(out, key+"="+quoteValue(value)) }
	if p.StopSignal != 0 && p.StopSignal != unix.SIGTERM {
		add("stop-signal", strings.TrimPrefix(unix.SignalName(p.StopSignal), "SIG"))
	}
	if p.StopTimeout > 0 {
		add("stop-timeout", duration(p.StopTimeout))
	}
	if p.OnCrash != Restart {
		add("on-crash", p.OnCrash.String())
	}
	if p.OnExit0 != Restart {
		add("on-exit-0", p.OnExit0.String())
	}
	if d := relativeDir(p.Dir, dir); d != "" {
		add("dir", d)
	}
	for _, e := range p.Env {
		add("env", e)
	}
	return out
}

// relativeDir is how dir= names d in a Procfile in base: nothing for base
// itself, a path below base relative to it, anything else absolute.
func relativeDir(d, base string) string {
	if d == "" || d == base {
		return ""
	}
	if rel, err := filepath.Rel(base, d); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return d
}

// quoteValue double-quotes an option value when it is empty or holds
// blanks, quotes or backslashes.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

// duration writes d as people do: 90s, 5m, 1h, or Go's form when it is
// not a whole number of seconds.
func duration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

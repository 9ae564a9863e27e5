package migrate

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// reader reads one section's options with supervisord's conversions.
type reader struct {
	ld *loader
	s  *section
	ex expansions
}

func (ld *loader) reader(s *section, ex expansions) *reader { return &reader{ld: ld, s: s, ex: ex} }

func (r *reader) where(key string) string { return r.s.name + "." + key }

func (r *reader) fail(key string, err error) error {
	v := r.ld.in.lookup(r.s, key)
	pe := &ParseError{File: r.s.file, Msg: fmt.Sprintf("[%s] %s: %v", r.s.name, key, err)}
	if v != nil {
		pe.File, pe.Line = v.file, v.line
	}
	return pe
}

// str returns key's expanded value, or def when it is not set.
func (r *reader) str(key, def string) (string, bool, error) {
	v := r.ld.in.lookup(r.s, key)
	if v == nil {
		return def, false, nil
	}
	s, err := r.ld.expand(v, r.ex, r.where(key), false)
	return s, true, err
}

func (r *reader) integer(key string, def int) (int, error) {
	s, set, err := r.str(key, "")
	if err != nil || !set {
		return def, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, r.fail(key, fmt.Errorf("want a whole number, got %q", s))
	}
	return n, nil
}

func (r *reader) boolean(key string, def bool) (bool, error) {
	s, set, err := r.str(key, "")
	if err != nil || !set {
		return def, err
	}
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, r.fail(key, fmt.Errorf("want true or false, got %q", s))
}

func (r *reader) autorestart() (string, error) {
	s, _, err := r.str("autorestart", "unexpected")
	if err != nil {
		return "", err
	}
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return "true", nil
	case "no", "false", "off", "0":
		return "false", nil
	case "unexpected":
		return "unexpected", nil
	}
	return "", r.fail("autorestart", fmt.Errorf("want true, false or unexpected, got %q", s))
}

func (r *reader) signal(key, def string) (unix.Signal, error) {
	s, _, err := r.str(key, def)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, r.fail(key, fmt.Errorf("%q is not a signal", s))
}

func (r *reader) exitcodes() ([]int, error) {
	s, _, err := r.str("exitcodes", "0")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 255 {
			return nil, r.fail("exitcodes", fmt.Errorf("want exit codes 0-255 separated by commas, got %q", s))
		}
		out = append(out, n)
	}
	return out, nil
}

package phpfpm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
)

// parseTime reads a php-fpm time value as fpm_conf_set_time does: a number
// of seconds, optionally followed by s, m, h or d. The number is read with
// C's atoi, so "1.5m" is one minute, as php-fpm takes it.
func parseTime(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("invalid time value \"\"")
	}
	unit, num := time.Second, v[:len(v)-1]
	switch suffix := v[len(v)-1]; {
	case suffix == 'd':
		unit = 24 * time.Hour
	case suffix == 'h':
		unit = time.Hour
	case suffix == 'm':
		unit = time.Minute
	case suffix == 's':
	case suffix >= '0' && suffix <= '9':
		num = v
	default:
		return 0, fmt.Errorf("unknown suffix %q in time value %q (use s, m, h or d)", suffix, v)
	}
	return time.Duration(atoi(num)) * unit, nil
}

// atoi is C's atoi: leading blanks, an optional sign, then digits up to the
// first non-digit; 0 when there are none. Values are capped well below
// overflow, where C's behaviour is undefined anyway.
func atoi(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<40; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// parseInt reads a php-fpm integer as fpm_conf_set_integer does: an
// optional leading '-' and digits only ("1e3" is an error there too), read
// with atoi, so an empty value is 0.
func parseInt(v string) (int, error) {
	if digits := strings.TrimPrefix(v, "-"); digits != "" && !allDigits(digits) {
		return 0, fmt.Errorf("%q is not a valid number", v)
	}
	return int(atoi(v)), nil
}

// parseBool reads a php-fpm boolean. The INI parser has already turned
// yes/on/true into "1" and no/off/false/none into "", the only two values
// php-fpm accepts.
func parseBool(v string) (bool, error) {
	switch v {
	case "1":
		return true, nil
	case "":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean value %q (use yes or no)", v)
}

// parseListen turns a listen value into an address to dial, classifying it
// as php-fpm does: with a ':' or all digits it is TCP (the port after the
// last ':', the host optionally in brackets), otherwise a unix socket path,
// relative ones resolved against prefix.
func parseListen(raw, prefix string) (listen.Addr, error) {
	if !strings.Contains(raw, ":") && !allDigits(raw) {
		path := raw
		if !filepath.IsAbs(path) {
			if prefix == "" {
				return listen.Addr{}, fmt.Errorf("socket path %q is relative, and no php-fpm prefix was given to resolve it against", raw)
			}
			path = filepath.Join(prefix, path)
		}
		return listen.Addr{Network: "unix", Address: path}, nil
	}
	host, port := "", raw
	if i := strings.LastIndexByte(raw, ':'); i >= 0 {
		host, port = raw[:i], raw[i+1:]
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if !allDigits(port) || atoi(port) < 1 || atoi(port) > 65535 {
		return listen.Addr{}, fmt.Errorf("%q: invalid port %q", raw, port)
	}
	if host == "" {
		return listen.ParseTCP(port)
	}
	return listen.ParseTCP(net.JoinHostPort(host, port))
}

// globFiles expands an include pattern as php-fpm's glob(GLOB_ERR|GLOB_MARK)
// does: matches in lexical order, directories skipped. Like php-fpm, it
// accepts a pattern that matches nothing, except when the directory that
// its wildcards are to be expanded in cannot be read (php-fpm: "Unable to
// globalize"). Unlike php-fpm, which takes a malformed pattern such as
// "a[.conf" literally and includes nothing, it reports one.
func globFiles(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("include pattern %q: %w", pattern, err)
	}
	if len(matches) == 0 {
		return nil, checkGlobBase(pattern)
	}
	var files []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			continue
		}
		// A match that cannot be stat'ed is kept so that reading it fails
		// with a message naming it, as php-fpm fails to open it.
		files = append(files, m)
	}
	return files, nil
}

// checkGlobBase reports the error glibc's glob returns under GLOB_ERR when
// the deepest wildcard-free directory of an absolute pattern cannot be
// opened. A pattern without wildcards, or whose base is a file, matches
// nothing without an error.
func checkGlobBase(pattern string) error {
	parts := strings.Split(pattern, string(filepath.Separator))
	for i, part := range parts {
		if !strings.ContainsAny(part, `*?[\`) {
			continue
		}
		base := string(filepath.Separator) + filepath.Join(parts[:i]...)
		fi, err := os.Stat(base)
		if err == nil && !fi.IsDir() {
			return nil
		}
		if err == nil {
			var f *os.File
			if f, err = os.Open(base); err == nil {
				return f.Close()
			}
		}
		return fmt.Errorf("include pattern %q: cannot read directory %s (php-fpm fails with \"Unable to globalize\"): %w", pattern, base, err)
	}
	return nil
}

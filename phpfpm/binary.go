package phpfpm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// sbinDirs are searched after $PATH because distributions install
	// php-fpm in an sbin directory, which a container's PATH often lacks.
	sbinDirs = "/usr/local/sbin:/usr/sbin:/sbin"

	// officialBinary is where the official Docker php images install
	// php-fpm (built with --prefix=/usr/local).
	officialBinary = "/usr/local/sbin/php-fpm"

	// officialConfig is the official images' compiled-in configuration path.
	officialConfig = "/usr/local/etc/php-fpm.conf"

	// fallbackConfig is the compiled-in path of distributions that install
	// an unversioned /usr/sbin/php-fpm with sysconfdir /etc (Fedora, RHEL).
	fallbackConfig = "/etc/php-fpm.conf"

	binaryName = "php-fpm"
)

// version is a PHP major.minor version taken from a binary's name.
type version struct {
	major, minor int
	debian       bool // Named php-fpmX.Y rather than Alpine's php-fpmXY.
}

// newer reports whether v is a later PHP release than w.
func (v version) newer(w version) bool {
	if v.major != w.major {
		return v.major > w.major
	}
	return v.minor > w.minor
}

// parseVersionedName recognises Debian's and Ubuntu's "php-fpm8.2" and
// Alpine's "php-fpm82" (and the older Alpine "php-fpm7").
func parseVersionedName(name string) (version, bool) {
	rest, ok := strings.CutPrefix(name, binaryName)
	if !ok || rest == "" {
		return version{}, false
	}
	if maj, min, dotted := strings.Cut(rest, "."); dotted {
		if !allDigits(maj) || !allDigits(min) {
			return version{}, false
		}
		a, _ := strconv.Atoi(maj)
		b, _ := strconv.Atoi(min)
		return version{major: a, minor: b, debian: true}, true
	}
	if !allDigits(rest) {
		return version{}, false
	}
	// Alpine packages carry no dot: the first digit is the major version.
	major := int(rest[0] - '0')
	minor := 0
	if len(rest) > 1 {
		minor, _ = strconv.Atoi(rest[1:])
	}
	return version{major: major, minor: minor}, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FindBinary returns the php-fpm binary: the first "php-fpm" in $PATH or in
// /usr/local/sbin, /usr/sbin and /sbin (searched even when $PATH lacks them);
// otherwise the newest versioned binary in those directories, Debian's
// "php-fpm8.3" or Alpine's "php-fpm83". The error says what was searched.
func FindBinary() (string, error) {
	return findBinary(searchDirs(os.Getenv("PATH")))
}

// searchDirs returns $PATH's directories followed by the sbin directories,
// each once. Relative entries are skipped: PID 1 must not run whatever
// php-fpm its working directory happens to hold.
func searchDirs(pathEnv string) []string {
	var dirs []string
	seen := make(map[string]bool)
	for _, d := range filepath.SplitList(pathEnv + string(filepath.ListSeparator) + sbinDirs) {
		if !filepath.IsAbs(d) || seen[filepath.Clean(d)] {
			continue
		}
		seen[filepath.Clean(d)] = true
		dirs = append(dirs, filepath.Clean(d))
	}
	return dirs
}

// findBinary is FindBinary over the given directories.
func findBinary(dirs []string) (string, error) {
	for _, d := range dirs {
		if p := filepath.Join(d, binaryName); isExecutable(p) {
			return p, nil
		}
	}
	best, bestVersion := "", version{}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue // A $PATH entry that does not exist is normal.
		}
		for _, e := range entries {
			v, ok := parseVersionedName(e.Name())
			p := filepath.Join(d, e.Name())
			if !ok || !isExecutable(p) {
				continue
			}
			if best == "" || v.newer(bestVersion) {
				best, bestVersion = p, v
			}
		}
	}
	if best == "" {
		return "", fmt.Errorf("php-fpm not found: looked for php-fpm, php-fpmX.Y (Debian, Ubuntu) and php-fpmXY (Alpine) in %s",
			strings.Join(dirs, ", "))
	}
	return best, nil
}

// isExecutable reports whether path is a regular file, or a link to one,
// that someone may execute.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// DefaultConfig returns the configuration file bin reads when given none:
// /etc/php/8.2/fpm/php-fpm.conf for Debian's php-fpm8.2,
// /etc/php83/php-fpm.conf for Alpine's php-fpm83,
// /usr/local/etc/php-fpm.conf for the official images' /usr/local/sbin/php-fpm,
// PREFIX/etc/php-fpm.conf when that exists beside another unversioned binary,
// and /etc/php-fpm.conf otherwise. A link named php-fpm (Debian's
// alternatives) is judged by the versioned binary it points to.
func DefaultConfig(bin string) string {
	if p, ok := versionedConfig(filepath.Base(bin)); ok {
		return p
	}
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		if p, ok := versionedConfig(filepath.Base(real)); ok {
			return p
		}
	}
	if filepath.Clean(bin) == officialBinary {
		return officialConfig
	}
	sibling := filepath.Join(Prefix(bin), "etc", "php-fpm.conf")
	if fi, err := os.Stat(sibling); err == nil && fi.Mode().IsRegular() {
		return sibling
	}
	return fallbackConfig
}

// versionedConfig maps a versioned binary name to its distribution's
// compiled-in configuration path.
func versionedConfig(name string) (string, bool) {
	v, ok := parseVersionedName(name)
	switch {
	case !ok:
		return "", false
	case v.debian:
		return fmt.Sprintf("/etc/php/%d.%d/fpm/php-fpm.conf", v.major, v.minor), true
	default:
		return fmt.Sprintf("/etc/php%s/php-fpm.conf", strings.TrimPrefix(name, binaryName)), true
	}
}

// Prefix returns the install prefix php-fpm resolves relative include=
// paths and relative unix socket paths against: the parent of the binary's
// directory, after following links (/usr/local/sbin/php-fpm gives /usr/local,
// /usr/sbin/php-fpm8.2 gives /usr, and /sbin/php-fpm8.2 gives /usr where /sbin
// links to usr/sbin). A test checks the guess against what the installed
// binary says its prefix is.
func Prefix(bin string) string {
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	return filepath.Dir(filepath.Dir(bin))
}

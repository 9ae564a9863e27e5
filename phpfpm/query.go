package phpfpm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

const (
	// scanDirEnv overrides the compiled-in scan directory; an empty element
	// in it stands for that directory (php_ini.c).
	scanDirEnv = "PHP_INI_SCAN_DIR"

	// Labels of php-fpm -i's text output.
	loadedIniLabel = "Loaded Configuration File"
	scanDirLabel   = "Scan this dir for additional .ini files"

	// maxOtherLines bounds how much unrecognised output a ValidationError
	// carries when php-fpm printed no ERROR or ALERT line.
	maxOtherLines = 5
)

// ValidationError is php-fpm's verdict on a configuration it rejected.
type ValidationError struct {
	Config string // The file tested.

	// Lines are php-fpm's ERROR and ALERT lines and PHP's INI syntax
	// errors, without timestamps, each once and in order. php-fpm prints
	// them twice when error_log is stderr. When there are none, Lines holds
	// the last lines of whatever php-fpm printed.
	Lines []string

	Err error // What running php-fpm -t returned: usually an *exec.ExitError.
}

// Error returns php-fpm's lines on one line, so one log event shows them.
func (e *ValidationError) Error() string {
	if len(e.Lines) == 0 {
		return fmt.Sprintf("php-fpm -t -y %s: %v", e.Config, e.Err)
	}
	return fmt.Sprintf("php-fpm -t -y %s: %s", e.Config, strings.Join(e.Lines, "; "))
}

// Unwrap returns the error from running php-fpm.
func (e *ValidationError) Unwrap() error { return e.Err }

// Runner runs a command to its end and returns its combined output. In
// lnmp-init it runs through the reaper, the one process that waits for
// children.
type Runner func(ctx context.Context, cmd *exec.Cmd) ([]byte, error)

// Validate runs `bin -t -y config` through run, and returns nil when php-fpm accepts the
// configuration, or a *ValidationError carrying php-fpm's error lines. Note
// that php-fpm -t opens the error_log file, so it fails where that cannot
// be written, and that for an INI syntax error php-fpm names neither file
// nor line ("syntax error, unexpected '=' in Unknown on line 1"); Load does.
func Validate(ctx context.Context, run Runner, bin, config string) error {
	out, err := run(ctx, exec.Command(bin, "-t", "-y", config))
	if err == nil {
		// php-fpm -t exits 0 on a php.ini with a syntax error, and PHP then
		// drops every setting after the bad line: that config is broken.
		if lines := phpErrors(string(out)); len(lines) > 0 {
			return &ValidationError{Config: config, Lines: lines, Err: errPHPIni}
		}
		return nil
	}
	return &ValidationError{Config: config, Lines: errorLines(string(out)), Err: err}
}

// errPHPIni is the cause of a ValidationError for a php.ini PHP rejects in
// part, while php-fpm -t itself passes.
var errPHPIni = errors.New("php-fpm -t passed, but PHP reported errors reading its ini files (every setting after an error is dropped)")

// phpErrors picks PHP's own error lines ("PHP:  syntax error, ...", "PHP
// Parse error: ...", "PHP Fatal error: ...") from php-fpm's output.
// Warnings ("PHP Warning:") are left alone: a base image's harmless
// warning would otherwise refuse every reload.
func phpErrors(out string) []string {
	var lines []string
	for raw := range strings.Lines(out) {
		l := strings.TrimSpace(raw)
		for _, p := range []string{"PHP:", "PHP Parse error:", "PHP Fatal error:"} {
			if strings.HasPrefix(l, p) {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
				break
			}
		}
	}
	return lines
}

// errorLines picks the lines that say what php-fpm rejected.
func errorLines(out string) []string {
	var picked, other []string
	seen := make(map[string]bool)
	for raw := range strings.Lines(out) {
		l := stripTimestamp(strings.TrimSpace(raw))
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		switch {
		case strings.HasPrefix(l, "ERROR:"), strings.HasPrefix(l, "ALERT:"):
			picked = append(picked, l)
		case strings.HasPrefix(l, "PHP:"):
			picked = append(picked, "PHP: "+strings.TrimSpace(strings.TrimPrefix(l, "PHP:")))
		default:
			other = append(other, l)
		}
	}
	if len(picked) == 0 && len(other) > maxOtherLines {
		other = other[len(other)-maxOtherLines:]
	}
	if len(picked) == 0 {
		return other
	}
	return picked
}

// stripTimestamp removes zlog's "[22-Nov-2026 05:27:36] " prefix.
func stripTimestamp(l string) string {
	if strings.HasPrefix(l, "[") {
		if _, rest, ok := strings.Cut(l, "] "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return l
}

// IniPaths asks bin, through run, which php.ini it loads and which
// directories it scans for more .ini files, from the text of `bin -i`. Both
// are empty when there are none. An empty element of PHP_INI_SCAN_DIR
// (":/extra") stands for the compiled-in directory, which a second run
// without that variable reveals. The answer holds for a php-fpm started with
// this process's environment, since PHPRC and PHP_INI_SCAN_DIR change it.
func IniPaths(ctx context.Context, run Runner, bin string) (iniFile string, scanDirs []string, err error) {
	iniFile, scan, err := queryInfo(ctx, run, exec.Command(bin, "-i"))
	if err != nil {
		return "", nil, err
	}
	var builtin string
	queried := scan == "" // Nothing to resolve.
	for _, dir := range strings.Split(scan, ":") {
		if dir == "" && !queried {
			cmd := exec.Command(bin, "-i")
			cmd.Env = environWithout(scanDirEnv)
			if _, builtin, err = queryInfo(ctx, run, cmd); err != nil {
				return "", nil, err
			}
			queried = true
		}
		if dir == "" {
			dir = builtin
		}
		if dir != "" && !slices.Contains(scanDirs, dir) {
			scanDirs = append(scanDirs, dir)
		}
	}
	return iniFile, scanDirs, nil
}

// queryInfo runs cmd, a php-fpm -i, and returns its php.ini path and its
// raw scan directory value, with "(none)" as "".
func queryInfo(ctx context.Context, run Runner, cmd *exec.Cmd) (iniFile, scan string, err error) {
	out, err := run(ctx, cmd)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	var foundIni, foundScan bool
	for l := range strings.Lines(string(out)) {
		label, value, ok := strings.Cut(strings.TrimSpace(l), " => ")
		if !ok {
			continue
		}
		if value == "(none)" {
			value = ""
		}
		switch label {
		case loadedIniLabel:
			iniFile, foundIni = value, true
		case scanDirLabel:
			scan, foundScan = value, true
		}
	}
	if !foundIni || !foundScan {
		return "", "", errors.New(strings.Join(cmd.Args, " ") + ": no \"" + loadedIniLabel + "\" or \"" + scanDirLabel + "\" line in its output")
	}
	return iniFile, scan, nil
}

// environWithout returns this process's environment minus name.
func environWithout(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return env
}

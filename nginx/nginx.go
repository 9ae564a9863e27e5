// Package nginx holds what lnmp-init knows about nginx: where its binary is,
// what its configuration says (the addresses to wait for, whether it would
// daemonize, how long a graceful stop may take, where its stub_status page
// is), how to run it in the foreground, how to validate a configuration
// before a start or reload, and how to read the stub_status page.
//
// The configuration reader follows nginx's own tokenizer and include rules,
// because nginx refuses to start on a mismatch lnmp-init could have caught,
// and a reader that sees different files than nginx waits for the wrong
// addresses.
package nginx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// FindBinary returns the nginx binary: "nginx" from PATH, else the first
// executable of /usr/sbin/nginx (Debian), /usr/local/sbin/nginx and
// /usr/local/nginx/sbin/nginx (built from source). The error says what was
// tried.
func FindBinary() (string, error) {
	return findBinary(exec.LookPath, []string{
		"/usr/sbin/nginx",
		"/usr/local/sbin/nginx",
		"/usr/local/nginx/sbin/nginx",
	})
}

// findBinary is FindBinary with the PATH lookup and the fallbacks given, so
// tests need not depend on what this machine has installed.
func findBinary(lookPath func(string) (string, error), fallbacks []string) (string, error) {
	path, err := lookPath("nginx")
	if err == nil {
		return path, nil
	}
	for _, p := range fallbacks {
		if fi, statErr := os.Stat(p); statErr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("nginx binary: not in PATH (%w), nor at %s", err, strings.Join(fallbacks, ", "))
}

// Args returns nginx's arguments to run in the foreground with cfg:
// -c and the absolute main file, plus -g "daemon off;" unless the
// configuration sets daemon itself, since nginx refuses a duplicate
// directive ("daemon" directive is duplicate). A Config built by hand
// without AbsPath gets Path.
func Args(cfg *Config) []string {
	main := cfg.AbsPath
	if main == "" {
		main = cfg.Path
	}
	args := []string{"-c", main}
	if !cfg.SetsDaemon {
		args = append(args, "-g", "daemon off;")
	}
	return args
}

// Runner runs a command to its end and returns its combined output. In
// lnmp-init it runs through the reaper, the one process that waits for
// children.
type Runner func(ctx context.Context, cmd *exec.Cmd) ([]byte, error)

// Validate asks nginx whether cfg will start, by running "bin -t" with the
// arguments of Args so the test sees exactly what will run. run starts the
// command and returns its combined output; it is the caller's so that the
// one process that reaps children also waits for this one. Validate returns
// nil when nginx accepts the configuration, else an error holding nginx's own
// [emerg], [alert], [crit] and [error] lines, joined so one log event can
// show them, and wrapping run's error.
//
// nginx -t needs more than syntax: it opens the pid file (creating it empty
// when missing), the log files and temp directories the configuration names,
// and binds the listen addresses (a port in use is fine, a port below 1024 is
// not for a non-root user), so it fails where nginx would.
func Validate(ctx context.Context, run Runner, bin string, cfg *Config) error {
	if run == nil {
		return errors.New("validating nginx config: no function to run nginx -t")
	}
	cmd := exec.Command(bin, append([]string{"-t"}, Args(cfg)...)...)
	out, err := run(ctx, cmd)
	if err == nil {
		return nil
	}
	msg := strings.Join(problems(string(out)), "; ")
	if msg == "" {
		msg = strings.TrimSpace(string(out))
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", commandLine(cmd.Args), err)
	}
	return fmt.Errorf("%s: %s: %w", commandLine(cmd.Args), msg, err)
}

// commandLine shows args as a shell would need them, so the -g argument
// reads as one.
func commandLine(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsAny(a, " \t;'\"$") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// problems returns nginx's error lines from its output, as "[level] message".
// nginx -t writes them in two forms, "nginx: [emerg] message" and
// "2006/01/02 15:04:05 [emerg] 123#123: message", depending on where its log
// goes at that moment; the time stamp and process IDs are dropped so both
// read alike.
func problems(out string) []string {
	var found []string
	for line := range strings.Lines(out) {
		for _, level := range []string{"[emerg]", "[alert]", "[crit]", "[error]"} {
			i := strings.Index(line, level)
			if i < 0 {
				continue
			}
			msg := strings.TrimSpace(line[i+len(level):])
			if ids, rest, ok := strings.Cut(msg, ": "); ok && isPIDs(ids) {
				msg = rest
			}
			found = append(found, level+" "+msg)
			break
		}
	}
	return found
}

// isPIDs reports whether s is nginx's "pid#tid" log prefix.
func isPIDs(s string) bool {
	pid, tid, ok := strings.Cut(s, "#")
	digits := func(x string) bool { return x != "" && strings.Trim(x, "0123456789") == "" }
	return ok && digits(pid) && digits(tid)
}

// StopMargin is added to worker_shutdown_timeout: the master exits shortly
// after its workers.
const StopMargin = time.Second

// GracefulStop is how long nginx's graceful stop (SIGQUIT) may take by its
// own config: worker_shutdown_timeout plus the margin when set, else 0, no
// bound of its own.
func (c *Config) GracefulStop() time.Duration {
	if c.WorkerShutdownTimeout > 0 {
		return c.WorkerShutdownTimeout + StopMargin
	}
	return 0
}

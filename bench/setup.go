package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// lnmpInitPackage is built when -lnmp-init is not given; as a package path
// it builds from anywhere inside the module.
const lnmpInitPackage = "github.com/lnmp-init/lnmp-init/cmd/lnmp-init"

// findBinaries checks everything the selected inits need and reports all
// that is missing in one line, so one attempt tells the whole story.
func findBinaries(names []string, needGo bool) (binaries, error) {
	var bin binaries
	var missing []string
	if err := lnmptest.Requirements(); err != nil {
		missing = append(missing, strings.TrimPrefix(err.Error(), "lnmptest: "))
	}
	bin.nginx, _ = lnmptest.FindNginx()
	bin.phpFPM, _ = lnmptest.FindPHPFPM()
	look := func(name, why string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, "missing "+name+" ("+why+")")
		}
		return p
	}
	if slices.Contains(names, nameSupervisord) {
		bin.supervisord = look("supervisord", "apt-get install -y supervisor")
	}
	if slices.Contains(names, nameTini) {
		bin.tini = look("tini", "apt-get install -y tini")
	}
	if needGo && slices.Contains(names, nameLnmpInit) {
		look("go", "builds lnmp-init; or pass -lnmp-init PATH")
	}
	if len(missing) > 0 {
		return bin, errors.New(strings.Join(missing, "; "))
	}
	return bin, nil
}

// lnmpInitBinary returns the prebuilt binary's absolute path, or builds
// lnmp-init into a temp dir that cleanup removes.
func lnmpInitBinary(ctx context.Context, prebuilt string) (path string, cleanup func(), err error) {
	if prebuilt != "" {
		abs, err := filepath.Abs(prebuilt)
		if err != nil {
			return "", nil, fmt.Errorf("-lnmp-init %s: %w", prebuilt, err)
		}
		if fi, err := os.Stat(abs); err != nil || fi.Mode()&0o111 == 0 || fi.IsDir() {
			return "", nil, fmt.Errorf("-lnmp-init %s: not an executable file (%v)", prebuilt, err)
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "lnmp-bench-build-")
	if err != nil {
		return "", nil, fmt.Errorf("build lnmp-init: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "lnmp-init")
	// Built as it ships (make build, the image): static, trimmed. A cgo
	// build links libc dynamically, and its relocated pages add ~1.3 MiB
	// to PID 1's RSS.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", path, lnmpInitPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("build lnmp-init (run from inside the module, or pass -lnmp-init PATH): %w\n%s", err, out)
	}
	return path, cleanup, nil
}

// lnmpInitExtraArgs moves lnmp-init's probe and metrics listener, on
// :9180 by default, to a random loopback port: every namespace here shares
// the host's network, so two lnmp-inits (this one and a test running
// beside it) would fight over :9180, and the bench talks to loopback only.
// The listener stays on, as in production, so the RSS includes it. Builds
// older than --health-addr get nothing extra.
func lnmpInitExtraArgs(ctx context.Context, bin string) []string {
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if strings.Contains(string(out), "--health-addr") {
		return []string{"--health-addr=127.0.0.1:0"}
	}
	return nil
}

// lnmpInitLabel names the lnmp-init that ran: the commit it was built from,
// or the prebuilt binary's path.
func lnmpInitLabel(ctx context.Context, prebuilt string) string {
	if prebuilt != "" {
		return "lnmp-init " + prebuilt
	}
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "lnmp-init (commit unknown)"
	}
	return "lnmp-init " + strings.TrimSpace(string(out))
}

// footer says how the table was made: the command, when, with which
// servers and how many CPUs.
func footer(args []string, bin binaries, runs int, at time.Time) string {
	var tools []string
	if bin.lnmpInitLabel != "" {
		tools = append(tools, bin.lnmpInitLabel)
	}
	tools = append(tools, version(bin.nginx, "-v"), version(bin.phpFPM, "-v"))
	return fmt.Sprintf("`%s` · %s · %s · nproc %d · median of %d runs",
		commandLine(os.Args[0], args), at.Format("2006-01-02 15:04 MST"),
		strings.Join(tools, " · "), runtime.NumCPU(), runs)
}

// commandLine rebuilds the command as typed. go run leaves the binary in
// a go-build temp dir, whose path nobody typed.
func commandLine(argv0 string, args []string) string {
	prog := argv0
	if strings.Contains(argv0, string(filepath.Separator)+"go-build") {
		prog = "go run ./bench"
	}
	parts := []string{prog}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'`$\\;&|<>*?()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// version returns the first line a server prints for -v, shortened to the
// name and number: nginx writes "nginx version: nginx/1.22.1" to stderr,
// php-fpm "PHP 8.2.36 (fpm-fcgi) (built: ...)" to stdout.
func version(bin, flag string) string {
	if bin == "" {
		return "unknown"
	}
	out, err := exec.Command(bin, flag).CombinedOutput()
	if err != nil {
		return filepath.Base(bin) + " (version unknown)"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	first = strings.TrimPrefix(first, "nginx version: ")
	first, _, _ = strings.Cut(first, " (built")
	return first
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// maxRSS bounds PID 1's memory while it reads a config: a reader that
// takes /dev/zero for a file grows by 1.5 GB/s, and is killed at this size
// so the machine survives the test.
const maxRSS = 200 << 20

// runBounded runs this test binary as lnmp-init with args and env, kills it
// after within or once its RSS passes maxRSS, and returns its exit code (-1
// when killed), its output and why it was killed.
func runBounded(t *testing.T, within time.Duration, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), testMainEnv+"=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(within)
	killed := ""
	for killed == "" {
		select {
		case err := <-done:
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), out.String(), ""
			}
			return 0, out.String(), ""
		case <-deadline:
			killed = "still running after " + within.String()
		case <-time.After(20 * time.Millisecond):
			if rss := rssOf(cmd.Process.Pid); rss > maxRSS {
				killed = "RSS " + strconv.Itoa(rss>>20) + " MiB"
			}
		}
	}
	_ = cmd.Process.Kill()
	<-done
	return -1, out.String(), killed
}

func rssOf(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb << 10
		}
	}
	return 0
}

// oneLine fails t unless out is exactly one line containing every want.
func oneLine(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Errorf("%d lines, want one:\n%s", len(lines), out)
		return
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("the line does not name %q: %s", w, lines[0])
		}
	}
}

// TestFaultUnreadableConfigPaths (issue 8, point 9): /dev/zero or a FIFO
// given as a config is bad input: exit 2 and one line naming the flag and
// its env var within a few seconds, with no hang and no growing memory.
//
// Fails on f13e591: /dev/zero is read to the end that never comes (RSS
// grows past the bound and the test kills it), and a FIFO blocks forever
// in open ("still running after 5s").
func TestFaultUnreadableConfigPaths(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	pool := filepath.Join(dir, "php-fpm.conf")
	if err := os.WriteFile(pool, []byte("[www]\nlisten = 127.0.0.1:9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bins := []string{"--php-fpm-bin=/bin/true", "--nginx-bin=/bin/true", "--health-addr="}
	for _, tc := range []struct {
		name, flag, path string
	}{
		{"php-fpm-config=/dev/zero", "php-fpm-config", "/dev/zero"},
		{"php-fpm-config=fifo", "php-fpm-config", fifo},
		{"nginx-config=/dev/zero", "nginx-config", "/dev/zero"},
		{"nginx-config=fifo", "nginx-config", fifo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, bins...), "--"+tc.flag+"="+tc.path)
			if tc.flag == "nginx-config" {
				args = append(args, "--php-fpm-config="+pool)
			}
			code, out, killed := runBounded(t, 5*time.Second, nil, args...)
			if killed != "" {
				t.Fatalf("killed: %s; output:\n%s", killed, out)
			}
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			oneLine(t, out, "--"+tc.flag, envName(tc.flag))
		})
	}
}

// TestFaultHealthAddrBindErrorOneLine (issue 8, point 9): a --health-addr
// that is taken is bad input: exactly one line, exit 2.
//
// Fails on f13e591: the "starting" line comes first, so it is two lines.
func TestFaultHealthAddrBindErrorOneLine(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	held, err := lnmptest.HoldPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, out, killed := runBounded(t, exitWithin, nil, "--php-fpm-config="+sb.FpmConf(), "--nginx-config="+sb.NginxConf(),
		"--health-addr="+held.Addr().String())
	if killed != "" {
		t.Fatalf("killed: %s; output:\n%s", killed, out)
	}
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	oneLine(t, out, "--health-addr", "LNMP_HEALTH_ADDR", held.Addr().String())
}

// TestFaultProbeFlagsBeforeEndpoint (issue 8, point 9): `lnmp-init probe
// --timeout=2s ready` works like `probe ready --timeout=2s`.
//
// Fails on f13e591: flags before the endpoint are refused (exit 2).
func TestFaultProbeFlagsBeforeEndpoint(t *testing.T) {
	_, _, base := startWithProbes(t, lnmptest.Options{})
	addr := strings.TrimPrefix(base, "http://")
	for _, args := range [][]string{
		{"probe", "--timeout=2s", "ready", "--health-addr=" + addr},
		{"probe", "--timeout=2s", "--health-addr=" + addr, "ready"},
		{"probe", "--health-addr=" + addr, "live"},
	} {
		if code, out := runSelf(t, args...); code != 0 {
			t.Errorf("%s: exit %d: %s", strings.Join(args, " "), code, out)
		}
	}
}

// TestFaultMisspeltEnvVar (issue 8, point 9): an LNMP_ variable that names
// no setting gets a warning naming it and the closest real one; lnmp-init
// still runs. The variables Kubernetes makes for a Service whose name starts
// with "lnmp" are no mistake and get no warning.
//
// Fails on f13e591: LNMP_DRAIN_DELAYS is silently ignored.
func TestFaultMisspeltEnvVar(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	serviceLinks := []string{
		"LNMP_SERVICE_HOST=10.0.0.7", "LNMP_SERVICE_PORT=80", "LNMP_SERVICE_PORT_HTTP=80",
		"LNMP_PORT=tcp://10.0.0.7:80", "LNMP_PORT_80_TCP=tcp://10.0.0.7:80", "LNMP_PORT_80_TCP_PROTO=tcp",
		"LNMP_PORT_80_TCP_PORT=80", "LNMP_PORT_80_TCP_ADDR=10.0.0.7",
		"LNMP_EXAMPLE_SERVICE_HOST=10.0.0.8", "LNMP_EXAMPLE_SERVICE_PORT=8080",
		"LNMP_EXAMPLE_PORT=tcp://10.0.0.8:8080", "LNMP_EXAMPLE_PORT_8080_TCP=tcp://10.0.0.8:8080",
		"LNMP_EXAMPLE_PORT_8080_TCP_ADDR=10.0.0.8",
	}
	in, _ := startProbed(t, sb, lnmptest.RunOptions{Env: append(serviceLinks, "LNMP_DRAIN_DELAYS=3s")})
	var named []string
	for _, l := range problemLines(in.Output()) {
		if strings.Contains(l, "LNMP_DRAIN_DELAYS") {
			named = append(named, l)
		}
	}
	if len(named) != 1 {
		t.Errorf("%d warnings name LNMP_DRAIN_DELAYS, want 1: %q", len(named), named)
	} else if !strings.Contains(strings.ReplaceAll(named[0], "LNMP_DRAIN_DELAYS", ""), "LNMP_DRAIN_DELAY") {
		t.Errorf("the warning does not suggest LNMP_DRAIN_DELAY: %s", named[0])
	}
	for _, kv := range serviceLinks {
		name, _, _ := strings.Cut(kv, "=")
		word := regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_])`)
		for _, l := range ownLines(in.Output()) {
			if word.MatchString(l) {
				t.Errorf("the Kubernetes service link %s is warned about: %s", name, l)
			}
		}
	}
	assertAlive(t, in, "with a misspelt variable")
}

// TestFaultNegativeProcessControlTimeout (issue 8, point 9): php-fpm
// accepts process_control_timeout = -5 (-t says so), and then cuts every
// request on a graceful stop as with 0. check must fail naming it, and serve
// must warn.
//
// Fails on f13e591: check says "OK: no problem found" and exits 0.
func TestFaultNegativeProcessControlTimeout(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	if err := sb.SetFpmGlobal("-5", ""); err != nil {
		t.Fatal(err)
	}
	code, out := runSelf(t, "check", "--php-fpm-config="+sb.FpmConf(), "--nginx-config="+sb.NginxConf(), "--stop-timeout=40s", "--grace=45s")
	named := false
	for _, l := range strings.Split(out, "\n") {
		named = named || (strings.Contains(l, "PROBLEM") && strings.Contains(l, "process_control_timeout"))
	}
	if code != 1 || !named {
		t.Errorf("check: exit %d, want 1 naming process_control_timeout; output:\n%s", code, out)
	}
	in := startInit(t, sb, lnmptest.RunOptions{}, "--stop-timeout=40s")
	if err := lnmptest.WaitUntil(10*time.Second, "a warning naming process_control_timeout", func() bool {
		return anyProblemLine(in.Output(), "process_control_timeout", "-5")
	}); err != nil {
		t.Error(err)
	}
}

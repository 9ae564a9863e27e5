package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// getStatus is one GET: the status code (0 when no answer) and body.
func getStatus(url string) (int, string) {
	st, body, _ := lnmptest.Get(url, 2*time.Second)
	return st, body
}

// TestReadyzFlipsAtSIGTERM: the moment lnmp-init has the signal, /readyz
// says 503, while PHP requests still get 200 through the drain delay.
func TestReadyzFlipsAtSIGTERM(t *testing.T) {
	const drain = 5 * time.Second
	sb, in, base := startWithProbes(t, lnmptest.Options{}, "--drain-delay="+drain.String())
	readyz := base + "/readyz"
	sent := time.Now()
	in.Signal(syscall.SIGTERM)
	var flipped time.Duration
	if err := lnmptest.WaitUntil(10*time.Second, "/readyz to answer 503", func() bool {
		st, _ := getStatus(readyz)
		flipped = time.Since(sent)
		return st == 503
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("/readyz answered 503 %v after SIGTERM was sent", flipped)
	// It must turn while everything still serves, long before the drain
	// ends; how fast is make bench's business (about 1 ms).
	if flipped > drain/2 {
		t.Errorf("/readyz took %v to turn 503, with a drain delay of %v", flipped, drain)
	}
	if st, body := getStatus(readyz); st != 503 || !strings.Contains(body, "stopping") {
		t.Errorf("/readyz during drain: %d %s", st, body)
	}
	if st, body := getStatus(sb.URL("/index.php")); st != 200 {
		t.Errorf("PHP during drain: %d %q", st, body)
	}
	if code := waitExit(t, in); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestReadyzFollowsAPhpFpmCrash: 503 while php-fpm is down or restarting,
// 200 again once it answers; the metrics count the restart.
func TestReadyzFollowsAPhpFpmCrash(t *testing.T) {
	_, in, base := startWithProbes(t, lnmptest.Options{})
	if st, body := getStatus(base + "/livez"); st != 200 || !strings.Contains(body, `"live"`) {
		t.Fatalf("/livez: %d %s", st, body)
	}
	_, before := getStatus(base + "/metrics")

	// Watch /readyz while php-fpm is killed twice: the second restart waits
	// out a backoff, so the outage is long enough to see.
	var mu sync.Mutex
	var seen []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if st, body := getStatus(base + "/readyz"); st == 503 {
				mu.Lock()
				seen = append(seen, body)
				mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	for range 2 {
		killFpm(t, in)
		if err := lnmptest.WaitHTTP(base+"/readyz", 200, upWithin); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(seen) == 0 || !strings.Contains(strings.Join(seen, ""), "php-fpm") {
		t.Errorf("/readyz never said 503 naming php-fpm while it was down: %q", seen)
	}
	_, after := getStatus(base + "/metrics")
	for _, m := range []string{`lnmp_child_restarts_total{child="php-fpm",reason="crash"}`, `lnmp_child_starts_total{child="php-fpm"}`} {
		if metricValue(before, m) == metricValue(after, m) {
			t.Errorf("%s did not change across a restart (%s)", m, metricValue(after, m))
		}
	}
	if metricValue(after, "lnmp_ready") != "1" {
		t.Errorf("lnmp_ready = %q after recovery", metricValue(after, "lnmp_ready"))
	}
}

// metricValue returns the value of the sample named exactly name.
func metricValue(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// runSelf runs this test binary as lnmp-init with args.
func runSelf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), testMainEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

func TestProbeExitCodes(t *testing.T) {
	_, in, base := startWithProbes(t, lnmptest.Options{}, "--drain-delay=5s")
	addr := strings.TrimPrefix(base, "http://")
	for _, which := range []string{"ready", "live"} {
		if code, out := runSelf(t, "probe", which, "--health-addr="+addr); code != 0 {
			t.Errorf("probe %s while serving: exit %d: %s", which, code, out)
		}
		// Flags before the endpoint work too.
		if code, out := runSelf(t, "probe", "--timeout=2s", "--health-addr="+addr, which); code != 0 {
			t.Errorf("probe --timeout=2s --health-addr=... %s while serving: exit %d: %s", which, code, out)
		}
	}
	in.Signal(syscall.SIGTERM)
	if err := lnmptest.WaitUntil(10*time.Second, "probe ready to fail", func() bool {
		code, _ := runSelf(t, "probe", "ready", "--health-addr="+addr)
		return code == 1
	}); err != nil {
		t.Error(err)
	}
	if code, out := runSelf(t, "probe", "live", "--health-addr="+addr); code != 0 {
		t.Errorf("probe live while draining: exit %d: %s", code, out)
	}
	if code, _ := runSelf(t, "probe", "ready", "--health-addr="+freeAddr(t)); code != 1 {
		t.Errorf("probe with nothing listening: exit %d, want 1", code)
	}
	if code, _ := runSelf(t, "probe", "sideways"); code != 2 {
		t.Errorf("probe with a bad argument: exit %d, want 2", code)
	}
	waitExit(t, in)
}

// TestCheckHazards: each hazard fails check with a line saying what to
// change; --warn-only reports and passes.
func TestCheckHazards(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	good := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	zero := lnmptest.NewTestSandbox(t, lnmptest.Options{ProcessControlTimeout: -1})
	broken := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	if err := broken.SetConfD("zz-broken.conf", "no_such_directive on;\n"); err != nil {
		t.Fatal(err)
	}
	cut := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	if err := cut.SetPool(lnmptest.Pool{Extra: "request_terminate_timeout = 60s\n"}); err != nil {
		t.Fatal(err)
	}
	configs := func(sb *lnmptest.Sandbox) []string {
		return []string{"check", "--php-fpm-config=" + sb.FpmConf(), "--nginx-config=" + sb.NginxConf()}
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"good", append(configs(good), "--stop-timeout=30s", "--grace=32s"), 0, "OK: no problem found"},
		{"process_control_timeout 0", configs(zero), 1, "PROBLEM: php-fpm's process_control_timeout is 0"},
		{"plan too long", append(configs(good), "--stop-timeout=20s"), 1, "PROBLEM: the stop plan needs 30s"},
		{"grace too short", append(configs(good), "--grace=20s"), 1, "does not end before the kill at --grace 20s: set terminationGracePeriodSeconds to at least 26"},
		{"invalid nginx config", configs(broken), 1, "unknown directive"},
		{"requests longer than the stop waits", append(configs(cut), "--stop-timeout=30s", "--grace=32s"), 1, "PROBLEM: pool www lets a request run 1m0s (request_terminate_timeout"},
		{"warn only", append(configs(zero), "--warn-only"), 0, "WARNING: php-fpm's process_control_timeout is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runSelf(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q; output:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
}

// TestCheckPassesOnTheExamples runs check on examples/config placed where
// the example image has them (/srv/lnmp), in a private mount namespace.
func TestCheckPassesOnTheExamples(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	// A private /tmp as well: nginx -t creates the pid file the config
	// names there, which must not be left on the host. The test binary
	// (under /tmp) is copied out first.
	script := `set -e
mount -t tmpfs lnmp-check /srv
cp -r "$EXAMPLES/config" /srv/lnmp
cp -r "$EXAMPLES/app" /srv/app
cp "$SELF" /srv/lnmp-init
mount -t tmpfs -o mode=1777 lnmp-check-tmp /tmp
exec /srv/lnmp-init check --nginx-config=/srv/lnmp/nginx.conf --php-fpm-config=/srv/lnmp/php-fpm.conf --grace=30s`
	cmd := exec.Command("unshare", "--mount", "sh", "-c", script)
	cmd.Env = append(os.Environ(), testMainEnv+"=1", "EXAMPLES="+examples, "SELF="+os.Args[0])
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK: no problem found") {
		t.Fatalf("check on the examples: %v\n%s", err, out)
	}
	// Both status pages are found, each on its loopback-only address.
	for _, want := range []string{"pool www (pm dynamic, max_children 16): tcp://127.0.0.1:9001/fpm-status (pm.status_listen)",
		"nginx: http://127.0.0.1:8081/stub_status"} {
		if !strings.Contains(string(out), want) || strings.Contains(string(out), "NOTE") {
			t.Errorf("check on the examples lacks %q, or has a NOTE:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}

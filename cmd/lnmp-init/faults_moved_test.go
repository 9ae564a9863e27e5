package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// stableFor checks for a while that the child's pid and lnmp-init's restart
// count stay as they are: a restart whose readiness check dials an address
// nothing listens on is SIGKILLed every --start-timeout.
func stableFor(t *testing.T, in *lnmptest.Init, base, child string, pid func() int, d time.Duration) {
	t.Helper()
	first := pid()
	restarts := metricSum(metricsOf(base), `lnmp_child_restarts_total{child="`+child+`"`)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p := pid(); p != first {
			t.Fatalf("%s restarted again (pid %d, then %d) although it served", child, first, p)
		}
		time.Sleep(200 * time.Millisecond)
	}
	assertAlive(t, in, "while "+child+" served")
	if r := metricSum(metricsOf(base), `lnmp_child_restarts_total{child="`+child+`"`); r != restarts {
		t.Errorf("%s restarts went from %v to %v while it served", child, restarts, r)
	}
	if st, b := getStatus(base + "/readyz"); st != 200 {
		t.Errorf("/readyz %d %s at the end", st, b)
	}
}

// masterPid returns the pid of PID 1's live child whose command name starts
// with comm ("php-fpm" for php-fpm8.2), or 0.
func masterPid(in *lnmptest.Init, comm string) int {
	for _, p := range in.Descendants() {
		if p.PPid == in.Pid() && p.State != "Z" && strings.HasPrefix(p.Comm, comm) {
			return p.Pid
		}
	}
	return 0
}

// TestFaultCrashAfterPoolMoved (issue 8, point 4): a reload moves the pool
// (and nginx's fastcgi_pass with it) to a new port; then php-fpm crashes.
// The restart listens on the new port, and readiness must follow it: /readyz
// 200 again within seconds, no SIGKILL loop, PHP served on the new address.
//
// Fails on f13e591: readiness dials the port of the config lnmp-init started
// with, so the restart is never ready, /readyz stays 503 and the restart is
// SIGKILLed every --start-timeout ("GET .../readyz to answer 200" times out).
func TestFaultCrashAfterPoolMoved(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, base := startProbed(t, sb, lnmptest.RunOptions{}, "--start-timeout=5s")
	waitWatching(t, in)
	port, err := lnmptest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	moved := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := sb.SetPool(lnmptest.Pool{Listen: moved, EnvVersion: 2}); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, in, base, "the pool's move", faultWithin, func(m string) bool {
		return reloadsTotal(m, "php-fpm", "ok") >= 1
	})
	if err := sb.SetNginx(sb.HTTPPort(), moved); err != nil {
		t.Fatal(err)
	}
	waitBody(t, sb.URL("/env.php"), "2", faultWithin)
	killFpm(t, in)
	if err := lnmptest.WaitHTTP(base+"/readyz", 200, faultWithin); err != nil {
		t.Fatalf("after a crash of the pool moved to %s: %v", moved, err)
	}
	waitBody(t, sb.URL("/env.php"), "2", faultWithin)
	stableFor(t, in, base, "php-fpm", func() int { return masterPid(in, "php-fpm") }, 8*time.Second)
}

// TestFaultCrashAfterNginxMoved (issue 8, point 4): the same for nginx's
// listen address.
//
// Fails on f13e591: the restarted nginx listens on the new port but
// readiness dials the old one; /readyz stays 503 ("GET .../readyz to answer
// 200" times out) and nginx is SIGKILLed every --start-timeout.
func TestFaultCrashAfterNginxMoved(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, base := startProbed(t, sb, lnmptest.RunOptions{}, "--start-timeout=5s")
	waitWatching(t, in)
	port, err := lnmptest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.SetNginx(port, sb.FPMAddr()); err != nil {
		t.Fatal(err)
	}
	if err := lnmptest.WaitHTTP(sb.URLAt(port, "/index.php"), 200, faultWithin); err != nil {
		t.Fatal(err)
	}
	killNginx(t, in)
	if err := lnmptest.WaitHTTP(base+"/readyz", 200, faultWithin); err != nil {
		t.Fatalf("after a crash of nginx moved to port %d: %v", port, err)
	}
	if err := lnmptest.WaitHTTP(sb.URLAt(port, "/index.php"), 200, faultWithin); err != nil {
		t.Fatal(err)
	}
	stableFor(t, in, base, "nginx", func() int { return masterPid(in, "nginx") }, 8*time.Second)
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// Readiness faults found beyond issue 8 (its point 10).

// TestFaultUnixSocketNginxCannotUse: a pool on a unix socket without
// listen.mode: php-fpm creates it 0660 root:root, nginx's workers
// (www-data) get EACCES and every PHP request answers 502, while
// lnmp-init's own ping, as root, succeeds. /readyz must not say 200 while
// every PHP request fails (or check/serve must refuse the pool).
//
// Fails on f13e591: /readyz says 200 and PHP says 502, indefinitely.
func TestFaultUnixSocketNginxCannotUse(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{UnixSocket: true})
	if err := sb.SetPool(lnmptest.Pool{EnvVersion: 1, Extra: "listen.mode = 0660"}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + freeAddr(t)
	in := startInit(t, sb, lnmptest.RunOptions{}, "--health-addr="+strings.TrimPrefix(base, "http://"))
	if err := lnmptest.WaitHTTP(sb.URL("/healthz-static"), 200, upWithin); err != nil {
		_, alive := in.PID1()
		if !alive {
			return // refused at start: the sane outcome
		}
		t.Fatal(err)
	}
	if st, _ := getStatus(sb.URL("/index.php")); st != 502 {
		t.Fatalf("precondition: index.php answers %d, not 502 (the socket is usable by nginx)", st)
	}
	time.Sleep(2 * time.Second)
	ready := lnmptest.SampleURL(base+"/readyz", 100*time.Millisecond, 2*time.Second)
	time.Sleep(3 * time.Second)
	if n := lnmptest.Count(ready.Stop(), 200); n > 0 {
		t.Errorf("/readyz said 200 %d times while nginx cannot reach php-fpm's socket (every PHP request 502)", n)
	}
}

// TestFaultFrozenNginxIsNotReady: nginx's master and workers SIGSTOPped (a
// hung nginx): nothing is served, yet /readyz checks only that nginx's
// master "runs". /readyz must turn 503 (or lnmp-init must heal nginx).
//
// Fails on f13e591: /readyz answers 200 while every request times out.
func TestFaultFrozenNginxIsNotReady(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, base := startProbed(t, sb, lnmptest.RunOptions{})
	frozen := lnmptest.Pids(nginxProcs(in))
	t.Cleanup(func() { lnmptest.Thaw(frozen...) })
	if err := lnmptest.Freeze(frozen...); err != nil {
		t.Fatal(err)
	}
	if err := lnmptest.WaitUntil(faultWithin, "/readyz to say 503, or nginx to serve again", func() bool {
		st, _ := getStatus(base + "/readyz")
		return st == 503 || lnmptest.Fetch(sb.URL("/healthz-static"), time.Second).Status == 200
	}); err != nil {
		t.Errorf("nginx serves nothing, yet: %v", err)
	}
}

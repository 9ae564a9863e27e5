package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

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


// TestFaultOrphanDelaysTheStop: a PHP page left a background process in a
// session of its own (exec('setsid ... &')), and nothing is in flight when
// SIGTERM comes. Nothing tells the orphan to stop until the request budget
// (process_control_timeout + 2 s) is used up, so the stop waits for nothing
// and then ends by signal. With nothing in flight, a stop must end within
// seconds; one whose orphan dies of SIGTERM exits 0.
//
// Fails on f13e591: the stop takes 23 s with the sandbox's
// process_control_timeout of 20 s (17 s with the example config), and exits
// 143 even for the orphan that SIGTERM ends.
func TestFaultOrphanDelaysTheStop(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct{ name, page string }{
		{"sleep", "/setsid.php?s=300"},
		{"ignores-SIGTERM", "/stubborn.php?s=300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			if err := sb.WriteFaultPages(); err != nil {
				t.Fatal(err)
			}
			in, _ := startProbed(t, sb, lnmptest.RunOptions{}, "--drain-delay=0s", "--stop-timeout=40s")
			if st, _ := getStatus(sb.URL(tc.page)); st != 200 {
				t.Fatalf("%s: %d", tc.page, st)
			}
			start := time.Now()
			if err := in.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, in)
			took := time.Since(start)
			t.Logf("stop with a %s orphan and nothing in flight: %v, exit code %d", tc.name, took, code)
			if took > 10*time.Second {
				t.Errorf("the stop took %v with nothing in flight", took)
			}
			if tc.name == "sleep" && code != 0 {
				t.Errorf("exit code %d after a requested stop with nothing in flight", code)
			}
		})
	}
}

package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// Faults found beyond issue 8 (its point 10). Each test says what breaks on
// f13e591.

// TestFaultRefusedConfigThenCrash: a broken config is refused (nothing is
// signalled, the old one serves), and later the child crashes for an
// unrelated reason (the OOM killer takes php-fpm's master, say). The
// restart must not read the refused config: the container must keep
// serving the old one.
//
// Fails on f13e591: the restart runs the config on disk, which fails at
// once, again at each restart, and lnmp-init exits at the crash limit
// (php-fpm 78, nginx 1): one bad ConfigMap plus any crash takes every
// replica down.
func TestFaultRefusedConfigThenCrash(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct {
		child string
		bad   func(sb *lnmptest.Sandbox) error
		crash func(t *testing.T, in *lnmptest.Init)
	}{
		{"php-fpm", func(sb *lnmptest.Sandbox) error {
			return sb.SetFpmD("www.conf", sb.PoolText(lnmptest.Pool{EnvVersion: 9, Extra: "pm.max_spare_servers = nonsense"}))
		}, killFpm},
		{"nginx", func(sb *lnmptest.Sandbox) error {
			return sb.SetConfD("headers.conf", "add_header X-Config-Version 9 always;\nno_such_directive;\n")
		}, killNginx},
	} {
		t.Run(tc.child, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			w := startWatched(t, sb, lnmptest.RunOptions{})
			before := metricsOf(w.base)
			if err := tc.bad(sb); err != nil {
				t.Fatal(err)
			}
			waitMetric(t, w.in, w.base, "the refusal", faultWithin, func(m string) bool {
				return reloadsTotal(m, tc.child, "invalid") > reloadsTotal(before, tc.child, "invalid")
			})
			tc.crash(t, w.in)
			waitAnswer(t, w.in, sb.URL("/env.php"), "after a "+tc.child+" crash with a refused config on disk")
			time.Sleep(3 * time.Second) // a restart loop would show by now
			assertAlive(t, w.in, "after a "+tc.child+" crash with a refused config on disk")
			if got := envVersion(sb); got != "1" {
				t.Errorf("env.php says %q after the crash, want the old 1", got)
			}
			assertAll200(t, "/livez", w.livez.Stop())
		})
	}
}

// TestFaultCrashDuringDrain: php-fpm crashes during the drain delay, while
// load balancers still send traffic and the README promises that "both
// children keep serving". It must be restarted like any crash.
//
// Fails on f13e591: no restart happens once the stop has begun; every PHP
// request for the rest of the drain gets 502, and the exit code is php-fpm's
// 137 instead of 0.
func TestFaultCrashDuringDrain(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{}, "--drain-delay=10s", "--stop-timeout=40s")
	waitServing(t, sb)
	if err := in.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	drainStart := time.Now()
	time.Sleep(500 * time.Millisecond)
	killFpm(t, in)
	// Within the rest of the drain (10 s from SIGTERM), PHP answers again.
	served := false
	for time.Since(drainStart) < 9*time.Second {
		if st, _ := getStatus(sb.URL("/index.php")); st == 200 {
			served = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !served {
		t.Errorf("no PHP request succeeded during the %v of drain left after the crash", 9*time.Second-500*time.Millisecond)
	}
	if code := waitExit(t, in); code != 0 {
		t.Errorf("exit code %d after a requested stop", code)
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

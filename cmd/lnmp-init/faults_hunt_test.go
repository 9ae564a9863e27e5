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
	waitRunning(t, in) // a SIGTERM before "ready" stops without a drain
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

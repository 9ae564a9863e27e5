package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// watchedRun is lnmp-init serving sb, with clients and probe samplers
// running, for the reload fault tests.
type watchedRun struct {
	sb      *lnmptest.Sandbox
	in      *lnmptest.Init
	base    string
	traffic *lnmptest.Traffic
	livez   *lnmptest.Sampler
	readyz  *lnmptest.Sampler
}

func startWatched(t *testing.T, sb *lnmptest.Sandbox, opt lnmptest.RunOptions, args ...string) *watchedRun {
	t.Helper()
	in, base := startProbed(t, sb, opt, args...)
	waitWatching(t, in)
	w := &watchedRun{sb: sb, in: in, base: base}
	w.traffic = lnmptest.StartTraffic([]string{sb.URL("/index.php"), sb.URL("/env.php"), sb.URL("/index.php")},
		20*time.Millisecond, 10*time.Second)
	w.livez = lnmptest.SampleURL(base+"/livez", 100*time.Millisecond, 3*time.Second)
	w.readyz = lnmptest.SampleURL(base+"/readyz", 100*time.Millisecond, 3*time.Second)
	t.Cleanup(func() { w.traffic.Stop(); w.livez.Stop(); w.readyz.Stop() })
	return w
}

// TestFaultReloadRefusedWhenListenCannotWork (issue 8, point 1): a pool
// moved to an address php-fpm cannot bind passes php-fpm -t; the reload must
// be refused before any signal, with no request lost and the old config
// serving, and the next good change applied.
//
// Fails on f13e591: SIGUSR2 kills the master, every restart fails the same
// way (exit 78), and lnmp-init exits 78 about a second after the change
// ("lnmp-init exited (code 78) while waiting for the refusal").
func TestFaultReloadRefusedWhenListenCannotWork(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct {
		name   string
		uid    int
		listen func(t *testing.T, sb *lnmptest.Sandbox) string
	}{
		{"tcp-port-held-by-another-process", 0, func(t *testing.T, sb *lnmptest.Sandbox) string {
			held, err := lnmptest.HoldPort(freeAddr(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { held.Close() })
			return held.Addr().String()
		}},
		{"socket-dir-missing", 0, func(t *testing.T, sb *lnmptest.Sandbox) string {
			return filepath.Join(sb.Dir(), "no-such-dir", "php-fpm.sock")
		}},
		{"socket-dir-not-writable-uid33", 33, func(t *testing.T, sb *lnmptest.Sandbox) string {
			dir := filepath.Join(sb.Dir(), "root-only")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "php-fpm.sock")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			w := startWatched(t, sb, lnmptest.RunOptions{UID: tc.uid})
			before := metricsOf(w.base)
			bad := tc.listen(t, sb)
			if err := sb.SetPool(lnmptest.Pool{Listen: bad, EnvVersion: 9}); err != nil {
				t.Fatal(err)
			}
			waitMetric(t, w.in, w.base, "the reload to "+bad+" to be refused", faultWithin, func(m string) bool {
				return reloadsTotal(m, "php-fpm", "invalid") > reloadsTotal(before, "php-fpm", "invalid")
			})
			time.Sleep(2 * time.Second) // damage done by a signal would show by now
			if got := envVersion(sb); got != "1" {
				t.Errorf("env.php says %q after the refused change, want the old 1", got)
			}
			assertAlive(t, w.in, "after a refused reload")
			assertNoFailure(t, "requests during the refused reload", w.traffic.Stop())
			assertAll200(t, "/livez", w.livez.Stop())
			assertAll200(t, "/readyz", w.readyz.Stop())
			if m := metricsOf(w.base); reloadsTotal(m, "php-fpm", "ok") != reloadsTotal(before, "php-fpm", "ok") {
				t.Errorf("a reload counted ok for a pool on %s", bad)
			}
			if err := sb.SetFpmEnvVersion(3); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the good change after the refused one", "3", func() string { return envVersion(sb) })
		})
	}
}

// TestFaultReloadThatKillsPhpFpmFallsBack (issue 8, point 1): configs found
// by hand that pass php-fpm -t and name only addresses that can be bound,
// yet make php-fpm's master exit 78 on SIGUSR2 (php-fpm 8.2: a [global]
// rlimit_files above the hard limit, setrlimit EPERM even as root; a pid file
// in a missing directory). lnmp-init must not exit: it restarts php-fpm from
// the last config that worked, so the old config serves again within
// seconds, /livez stays 200, the reload counts as failed, and the next good
// change is applied.
//
// Fails on f13e591: the restarts use the new config and fail the same way;
// lnmp-init exits 78 within a second ("lnmp-init exited (code 78)").
func TestFaultReloadThatKillsPhpFpmFallsBack(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct{ name, global string }{
		{"rlimit_files-above-hard-limit", "rlimit_files = 99999999"},
		{"pid-file-in-missing-dir", "pid = /nonexistent-lnmptest-dir/php-fpm.pid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			w := startWatched(t, sb, lnmptest.RunOptions{})
			before := metricsOf(w.base)
			// One file, one reload: a [global] section may open again in an
			// included file.
			if err := sb.SetFpmD("www.conf", "[global]\n"+tc.global+"\n"+sb.PoolText(lnmptest.Pool{EnvVersion: 9})); err != nil {
				t.Fatal(err)
			}
			changed := time.Now()
			m := waitMetric(t, w.in, w.base, "the reload to end", faultWithin, func(m string) bool {
				return reloadsTotal(m, "php-fpm", "failed")+reloadsTotal(m, "php-fpm", "invalid") >
					reloadsTotal(before, "php-fpm", "failed")+reloadsTotal(before, "php-fpm", "invalid")
			})
			if reloadsTotal(m, "php-fpm", "failed") == reloadsTotal(before, "php-fpm", "failed") {
				t.Logf("refused before the signal (result invalid): the fallback was not exercised")
			}
			if !strings.Contains(m, `lnmp_config_refused{child="php-fpm"} 1`) {
				t.Errorf("lnmp_config_refused does not flag the change that did not serve:\n%s", grepLines(m, "lnmp_config_refused"))
			}
			waitBody(t, sb.URL("/env.php"), "1", faultWithin)
			for range 3 { // served for good, not by a dying process
				if got := envVersion(sb); got != "1" {
					t.Fatalf("env.php says %q %v after the change, want the old 1", got, time.Since(changed))
				}
				time.Sleep(500 * time.Millisecond)
			}
			assertAlive(t, w.in, "after a reload that killed php-fpm")
			w.traffic.Stop()
			assertAll200(t, "/livez", w.livez.Stop())
			if err := sb.SetFpmEnvVersion(3); err != nil {
				t.Fatal(err)
			}
			waitBody(t, sb.URL("/env.php"), "3", faultWithin)
			assertAlive(t, w.in, "after the good change")
			waitMetric(t, w.in, w.base, "lnmp_config_refused to clear", faultWithin, func(m string) bool {
				return strings.Contains(m, `lnmp_config_refused{child="php-fpm"} 0`)
			})
		})
	}
}

// TestFaultNginxReloadFailingOnSIGHUP (issue 8, point 1): a server block on
// a port another process holds passes nginx -t (which binds nothing), and on
// SIGHUP nginx keeps its old config by itself. lnmp-init must report the
// reload (failed, or invalid when a pre-check refuses it), keep serving, and
// a later nginx crash must restart nginx from a config that works.
//
// Fails on f13e591 at the crash: the restart reads the config on disk, nginx
// cannot bind the held port and exits 1, again at each restart, and
// lnmp-init exits 1 after the crash limit ("lnmp-init exited").
func TestFaultNginxReloadFailingOnSIGHUP(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	held, err := lnmptest.HoldPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	w := startWatched(t, sb, lnmptest.RunOptions{})
	before := metricsOf(w.base)
	if err := sb.SetConfD("held.conf", fmt.Sprintf("server {\n    listen %s;\n    return 200 \"held\\n\";\n}\n", held.Addr())); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, w.in, w.base, "the nginx reload to be reported", 30*time.Second, func(m string) bool {
		return reloadsTotal(m, "nginx", "failed")+reloadsTotal(m, "nginx", "invalid") >
			reloadsTotal(before, "nginx", "failed")+reloadsTotal(before, "nginx", "invalid")
	})
	assertNoFailure(t, "requests during the failed nginx reload", w.traffic.Stop())
	assertAll200(t, "/readyz during the failed nginx reload", w.readyz.Stop())

	killNginx(t, w.in)
	waitAnswer(t, w.in, sb.URL("/index.php"), "after an nginx crash following a failed reload")
	time.Sleep(3 * time.Second) // a restart loop would show by now
	assertAlive(t, w.in, "after an nginx crash following a failed reload")
	if st, _ := getStatus(sb.URL("/index.php")); st != 200 {
		t.Errorf("index.php answers %d 3s after nginx came back", st)
	}
	assertAll200(t, "/livez", w.livez.Stop())
}

// TestFaultPhpIniSyntaxErrorRefused (issue 8, point 2): php-fpm -t prints
// "PHP:  syntax error, unexpected '='" for a broken .ini and exits 0. The
// change must be refused (result invalid) and the old ini values stay in
// force; the next good change is applied.
//
// Fails on f13e591: the reload is validated "ok" and sent; php-fpm drops
// every setting after the error line, so ini.php prints 128M (PHP's default)
// instead of the old 101M ("reload counted ok, not invalid").
func TestFaultPhpIniSyntaxErrorRefused(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	if err := sb.WriteFaultPages(); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetIni("zz-test.ini", "memory_limit = 101M\n"); err != nil {
		t.Fatal(err)
	}
	w := startWatched(t, sb, lnmptest.RunOptions{Env: sb.IniEnv()})
	if got := body(sb.URL("/ini.php")); got != "101M" {
		t.Fatalf("ini.php says %q at start, want 101M: the sandbox's ini is not read", got)
	}
	before := metricsOf(w.base)
	if err := sb.SetIni("zz-test.ini", "broken = = here\nmemory_limit = 102M\n"); err != nil {
		t.Fatal(err)
	}
	m := waitMetric(t, w.in, w.base, "the ini change to be handled", faultWithin, func(m string) bool {
		return metricSum(m, `lnmp_reloads_total{child="php-fpm"`) > metricSum(before, `lnmp_reloads_total{child="php-fpm"`)
	})
	if reloadsTotal(m, "php-fpm", "invalid") == reloadsTotal(before, "php-fpm", "invalid") {
		t.Errorf("reload counted %s, not invalid",
			strings.ReplaceAll(grepLines(m, `lnmp_reloads_total{child="php-fpm"`), "\n", "; "))
	}
	time.Sleep(2 * time.Second)
	if got := body(sb.URL("/ini.php")); got != "101M" {
		t.Errorf("ini.php says %q after the broken ini, want the old 101M", got)
	}
	assertNoFailure(t, "requests during the refused ini change", w.traffic.Stop())
	if err := sb.SetIni("zz-test.ini", "memory_limit = 103M\n"); err != nil {
		t.Fatal(err)
	}
	waitBody(t, sb.URL("/ini.php"), "103M", faultWithin)
}

// TestFaultRefusedIniSurvivesCrashThenFixed: a php.ini change refused for
// a syntax error, then a php-fpm crash: the restart runs the last good
// php.ini (a copy), not the broken file, so its settings stay in force.
// Then the operator fixes the file: the reload applies it although php-fpm
// runs from the copy (php-fpm re-reads the copy's paths on SIGUSR2, which
// get the new files first), and the next crash restarts from the files.
func TestFaultRefusedIniSurvivesCrashThenFixed(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	if err := sb.WriteFaultPages(); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetIni("zz-test.ini", "memory_limit = 101M\n"); err != nil {
		t.Fatal(err)
	}
	w := startWatched(t, sb, lnmptest.RunOptions{Env: sb.IniEnv()})
	waitBody(t, sb.URL("/ini.php"), "101M", faultWithin)
	// The watch knows php.ini once its php-fpm -i has answered: a change
	// before that is applied (TestFaultChangeRightAfterStartIsApplied) but
	// has no last good copy to refuse into.
	if err := lnmptest.WaitUntil(faultWithin, "the watches", func() bool {
		return strings.Contains(w.in.Output(), `watching for config changes	{"child": "php-fpm"`)
	}); err != nil {
		t.Fatal(err)
	}
	before := metricsOf(w.base)
	if err := sb.SetIni("zz-test.ini", "broken = = here\nmemory_limit = 102M\n"); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, w.in, w.base, "the ini change to be refused", faultWithin, func(m string) bool {
		return reloadsTotal(m, "php-fpm", "invalid") > reloadsTotal(before, "php-fpm", "invalid")
	})
	killFpm(t, w.in)
	waitAnswer(t, w.in, sb.URL("/ini.php"), "after a php-fpm crash with a refused php.ini on disk")
	if got := body(sb.URL("/ini.php")); got != "101M" {
		t.Fatalf("ini.php says %q after the crash, want the old 101M: the refused php.ini is in force", got)
	}
	if err := sb.SetIni("zz-test.ini", "memory_limit = 103M\n"); err != nil {
		t.Fatal(err)
	}
	waitBody(t, sb.URL("/ini.php"), "103M", faultWithin)
	killFpm(t, w.in)
	waitAnswer(t, w.in, sb.URL("/ini.php"), "after a crash once the fixed php.ini served")
	if got := body(sb.URL("/ini.php")); got != "103M" {
		t.Errorf("ini.php says %q after the last crash, want the fixed 103M", got)
	}
	w.traffic.Stop()
	assertAll200(t, "/livez", w.livez.Stop())
}

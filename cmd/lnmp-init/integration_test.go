package main

import (
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// Generous bounds: these tests assert behaviour, and make bench measures.
const (
	upWithin   = 20 * time.Second
	exitWithin = 30 * time.Second
)

// startInit runs lnmp-init as PID 1 of a new PID namespace on sb's configs,
// with its probes on a free port (a later --health-addr in args wins).
func startInit(t *testing.T, sb *lnmptest.Sandbox, opt lnmptest.RunOptions, args ...string) *lnmptest.Init {
	t.Helper()
	args = append([]string{"--php-fpm-config=" + sb.FpmConf(), "--nginx-config=" + sb.NginxConf(), "--log-format=console",
		"--health-addr=" + freeAddr(t)}, args...)
	opt.Env = append(opt.Env, testMainEnv+"=1")
	return lnmptest.StartTestInit(t, os.Args[0], args, opt)
}

// startWithProbes runs lnmp-init with its probes on a free address, waits
// until /readyz answers 200, and returns the probes' base URL.
func startWithProbes(t *testing.T, opts lnmptest.Options, args ...string) (*lnmptest.Sandbox, *lnmptest.Init, string) {
	t.Helper()
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, opts)
	base := "http://" + freeAddr(t)
	in := startInit(t, sb, lnmptest.RunOptions{}, append(args, "--health-addr="+strings.TrimPrefix(base, "http://"))...)
	if err := lnmptest.WaitHTTP(base+"/readyz", 200, upWithin); err != nil {
		t.Fatal(err)
	}
	return sb, in, base
}

// waitWatching waits until the config watcher watches both programs: it
// starts beside the children.
func waitWatching(t *testing.T, in *lnmptest.Init) {
	t.Helper()
	if err := lnmptest.WaitUntil(upWithin, "the config watcher", func() bool {
		return strings.Count(in.Output(), "watching for config changes") >= 2
	}); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string { return lnmptest.FreeAddr(t) }

func waitServing(t *testing.T, sb *lnmptest.Sandbox) {
	t.Helper()
	if err := lnmptest.WaitHTTP(sb.URL("/index.php"), 200, upWithin); err != nil {
		t.Fatal(err)
	}
}

// waitRunning waits until lnmp-init has found every child ready: only then
// does a SIGTERM drain (one during the start stops at once). nginx may
// answer a few milliseconds before lnmp-init has seen it ready.
func waitRunning(t *testing.T, in *lnmptest.Init) {
	t.Helper()
	if err := lnmptest.WaitUntil(upWithin, "lnmp-init to find every child ready", func() bool {
		return strings.Contains(in.Output(), "ready: every child serves")
	}); err != nil {
		t.Fatal(err)
	}
}

func waitExit(t *testing.T, in *lnmptest.Init) int {
	t.Helper()
	code, err := in.Wait(exitWithin)
	if err != nil {
		t.Fatalf("lnmp-init did not exit: %v", err)
	}
	return code
}

// TestDrainLosesNoRequest is the mission: slow PHP requests in flight at
// SIGTERM and new requests during the drain delay all get 200, and lnmp-init
// exits 0 soon after the last one: as root, as uid 33, and as uid 33 with
// stdio pipes owned by root, as Docker and containerd hand them out (the
// sandbox's php-fpm logs to /proc/self/fd/2, which then needs the relay).
func TestDrainLosesNoRequest(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct {
		name string
		opt  lnmptest.RunOptions
	}{
		{"root", lnmptest.RunOptions{}},
		{"uid33", lnmptest.RunOptions{UID: 33}},
		{"uid33-root-stdio", lnmptest.RunOptions{UID: 33, RootStdio: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			// The late requests are sent over the first 1.6 s of a 4 s drain:
			// room for a loaded machine's slow requests.
			in := startInit(t, sb, tc.opt, "--drain-delay=4s")
			waitServing(t, sb)
			waitRunning(t, in)
			const inFlight = 8
			slow := lnmptest.Fire(inFlight, sb.URL("/slow.php?ms=3000"), 30*time.Second)
			if err := lnmptest.WaitUntil(10*time.Second, "slow requests in flight", func() bool {
				n, err := sb.FpmBusy(time.Second)
				return err == nil && n >= inFlight
			}); err != nil {
				t.Fatal(err)
			}
			if err := in.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// What a load balancer still sends after SIGTERM.
			var late []lnmptest.Result
			sent := time.Now()
			for i := range 16 {
				time.Sleep(time.Until(sent.Add(time.Duration(i) * 100 * time.Millisecond)))
				late = append(late, lnmptest.Fetch(sb.URL("/index.php"), 10*time.Second))
			}
			results := lnmptest.Collect(slow)
			code := waitExit(t, in)
			exited := time.Now()
			for i, r := range append(results, late...) {
				if r.Status != 200 || r.Err != nil {
					t.Errorf("request %d: status %d, err %v, body %q", i, r.Status, r.Err, r.Body)
				}
			}
			if code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			var last time.Time
			for _, r := range results {
				if r.End.After(last) {
					last = r.End
				}
			}
			if d := exited.Sub(last); d > 5*time.Second {
				t.Errorf("exited %v after the last request finished", d)
			}
			if left := in.Descendants(); len(left) != 0 {
				t.Errorf("processes left: %+v", left)
			}
			// php-fpm's own last words reach the output, relayed or not.
			if !strings.Contains(in.Output(), "exiting, bye-bye") {
				t.Error("php-fpm's exit notice is missing from the output")
			}
		})
	}
}

// TestOrphansAreReaped: PHP exec() leaves a background process whose shell
// has exited; it is re-parented to lnmp-init and reaped when it ends.
func TestOrphansAreReaped(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{})
	waitServing(t, sb)
	for range 5 {
		if st, body, err := lnmptest.Get(sb.URL("/orphan.php?s=0.3"), 10*time.Second); err != nil || st != 200 {
			t.Fatalf("orphan.php: %d %q %v", st, body, err)
		}
	}
	adopted := false
	if err := lnmptest.WaitUntil(10*time.Second, "an orphaned sleep re-parented to lnmp-init", func() bool {
		for _, p := range in.Descendants() {
			adopted = adopted || (p.Comm == "sleep" && p.PPid == in.Pid())
		}
		return adopted
	}); err != nil {
		t.Fatal(err)
	}
	if err := lnmptest.WaitUntil(10*time.Second, "no sleep and no zombie left", func() bool {
		for _, p := range in.Descendants() {
			if p.State == "Z" || p.Comm == "sleep" {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("%v: %+v", err, in.Descendants())
	}
}

// killFpm SIGKILLs php-fpm's master and every worker from outside, and
// waits until they are gone: a dying worker can still answer a request.
func killFpm(t *testing.T, in *lnmptest.Init) {
	t.Helper()
	procs := in.PHPFPM()
	if len(procs) < 2 {
		t.Fatalf("php-fpm processes: %+v", procs)
	}
	for _, p := range procs {
		_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	}
	if err := lnmptest.WaitUntil(10*time.Second, "killed php-fpm processes gone", func() bool {
		for _, p := range procs {
			if syscall.Kill(p.Pid, 0) == nil {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

func TestPhpFpmKilledComesBack(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{})
	waitServing(t, sb)
	before := in.PHPFPM()
	killFpm(t, in)
	waitServing(t, sb)
	after := in.PHPFPM()
	for _, a := range after {
		for _, b := range before {
			if a.Pid == b.Pid {
				t.Fatalf("php-fpm process %d survived SIGKILL", a.Pid)
			}
		}
	}
	if !strings.Contains(in.Output(), "restarting child") {
		t.Error("no restart logged")
	}
	in.Signal(syscall.SIGINT)
	if code := waitExit(t, in); code != 0 {
		t.Errorf("exit code %d after a recovered crash and a clean stop, want 0", code)
	}
}

// TestMasterKilledAloneFreesItsSocket: workers outlive a SIGKILLed master
// and hold its port; lnmp-init must clear them so the new master can bind.
func TestMasterKilledAloneFreesItsSocket(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{})
	waitServing(t, sb)
	for _, p := range in.PHPFPM() {
		if p.PPid == in.Pid() {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
	}
	if err := lnmptest.WaitUntil(upWithin, "a new php-fpm master", func() bool {
		return strings.Count(in.Output(), "child ready\t{\"child\": \"php-fpm\"") >= 2
	}); err != nil {
		t.Fatal(err)
	}
	waitServing(t, sb)
}

func TestCrashLimitExitsNonZero(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{}, "--crash-limit=3", "--crash-window=1m")
	waitServing(t, sb)
	for range 2 {
		killFpm(t, in)
		waitServing(t, sb)
	}
	killFpm(t, in)
	code := waitExit(t, in)
	if code != 128+9 {
		t.Errorf("exit code %d, want 137 (php-fpm's SIGKILL)", code)
	}
	if !strings.Contains(in.Output(), "crash limit reached") {
		t.Error("crash limit not logged")
	}
}

// TestBrokenConfigFailsStart: a config only the child can reject makes
// lnmp-init exit non-zero, with the child's own error in the output.
func TestBrokenConfigFailsStart(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct {
		name, want string
		breakIt    func(sb *lnmptest.Sandbox) error
	}{
		{"php-fpm", "invalid process manager", func(sb *lnmptest.Sandbox) error {
			return sb.SetFpmD("zz-broken.conf", "[broken]\nlisten = 127.0.0.1:1\npm = nonsense\n")
		}},
		{"nginx", "unknown directive", func(sb *lnmptest.Sandbox) error {
			return sb.SetConfD("zz-broken.conf", "no_such_directive on;\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			if err := tc.breakIt(sb); err != nil {
				t.Fatal(err)
			}
			in := startInit(t, sb, lnmptest.RunOptions{})
			code := waitExit(t, in)
			if code == 0 || code == 2 {
				t.Errorf("exit code %d, want the child's failure", code)
			}
			if !strings.Contains(in.Output(), tc.want) {
				t.Errorf("output lacks the child's error %q", tc.want)
			}
		})
	}
}

// TestSecondSignalEscalates: a second SIGTERM skips the drain and the
// graceful waits, and cuts a request that would run for a long time.
func TestSecondSignalEscalates(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{}, "--drain-delay=20s")
	waitServing(t, sb)
	waitRunning(t, in)
	slow := lnmptest.Fire(1, sb.URL("/slow.php?ms=20000"), 30*time.Second)
	if err := lnmptest.WaitUntil(10*time.Second, "a slow request in flight", func() bool {
		n, err := sb.FpmBusy(time.Second)
		return err == nil && n >= 1
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	in.Signal(syscall.SIGTERM)
	if err := lnmptest.WaitUntil(10*time.Second, "draining", func() bool {
		return strings.Contains(in.Output(), "stopping\t")
	}); err != nil {
		t.Fatal(err)
	}
	in.Signal(syscall.SIGTERM)
	code := waitExit(t, in)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %v after the second SIGTERM", d)
	}
	if code == 0 {
		t.Error("exit code 0 after an escalated stop")
	}
	var wg sync.WaitGroup
	wg.Go(func() { lnmptest.Collect(slow) })
	wg.Wait()
}

// TestSIGINTSkipsTheDrain: Ctrl-C in docker run -it does not wait for load
// balancers.
func TestSIGINTSkipsTheDrain(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{}, "--drain-delay=60s", "--stop-timeout=90s")
	waitServing(t, sb)
	waitRunning(t, in)
	start := time.Now()
	in.Signal(syscall.SIGINT)
	if code := waitExit(t, in); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("SIGINT stop took %v, as if it drained", d)
	}
}

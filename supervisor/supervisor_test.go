package supervisor

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

func TestStartWaitsForPhpFpmBeforeNginx(t *testing.T) {
	h := newHarness(t, testConfig())
	if h.l.launches("php-fpm") != 1 || h.l.launches("nginx") != 0 {
		t.Fatalf("launched php-fpm %d, nginx %d times; want php-fpm alone first", h.l.launches("php-fpm"), h.l.launches("nginx"))
	}
	h.advance(2 * time.Second)
	if h.l.launches("nginx") != 0 {
		t.Fatal("nginx started before php-fpm was ready")
	}
	h.ready("php-fpm")
	if h.l.launches("nginx") != 1 {
		t.Fatal("nginx not started once php-fpm was ready")
	}
	if h.s.Status().Ready {
		t.Fatal("ready before nginx is")
	}
	h.ready("nginx")
	h.wantPhase(running)
	h.s.publish()
	if st := h.s.Status(); !st.Ready || !st.Live || st.Draining {
		t.Fatalf("status %+v, want ready, live, not draining", st)
	}
}

// TestStopTimeline walks the whole graceful stop: drain, nginx, php-fpm,
// leftover workers, exit 0.
func TestStopTimeline(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.h.set(true)
	h.s.onSignal(unix.SIGTERM)
	h.s.publish()
	if st := h.s.Status(); st.Ready || !st.Draining {
		t.Fatalf("after SIGTERM status %+v, want not ready, draining", st)
	}
	h.advance(5*time.Second - time.Millisecond)
	h.wantSignals("nginx")
	h.wantSignals("php-fpm")
	h.advance(time.Millisecond)
	h.wantSignals("nginx", unix.SIGQUIT)
	h.wantSignals("php-fpm")
	h.advance(3 * time.Second) // in-flight requests finish
	h.exit("nginx", exitCode(0))
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.advance(time.Second)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(reaping) // a worker outlived its master
	h.advance(500 * time.Millisecond)
	h.wantPhase(reaping)
	h.h.set(false)
	h.s.onOrphan()
	h.wantPhase(done)
	if h.s.code != 0 {
		t.Fatalf("exit code %d, want 0", h.s.code)
	}
	h.wantGroupSignals("php-fpm", unix.SIGQUIT) // its leftover worker: graceful, never TERM or KILL
	if len(h.h.all) != 0 {
		t.Fatalf("escalated with %v on a clean stop", h.h.all)
	}
}

func TestSIGINTSkipsTheDrain(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGINT)
	h.wantSignals("nginx", unix.SIGQUIT)
	h.exit("nginx", exitCode(0))
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
}

// TestPhpFpmEscalation: php-fpm gets its process_control_timeout bound, then
// SIGTERM, then SIGKILL a second later; the exit code says it was killed.
func TestPhpFpmEscalation(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGINT)
	h.exit("nginx", exitCode(0))
	h.advance(22*time.Second - time.Millisecond)
	h.wantGroupSignals("php-fpm")
	h.advance(time.Millisecond)
	h.wantGroupSignals("php-fpm", unix.SIGTERM)
	h.advance(termGrace)
	h.wantGroupSignals("php-fpm", unix.SIGTERM, unix.SIGKILL)
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.wantPhase(done)
	if h.s.code != 128+9 {
		t.Fatalf("exit code %d, want 137", h.s.code)
	}
}

// TestLeftoverKillExits137: php-fpm ends on the SIGTERM past its bound,
// but a process left in its group survives until SIGKILL: the stop needed
// SIGKILL, so the exit code is 137, not 143 (SIGKILL's number is the
// smaller one).
func TestLeftoverKillExits137(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGINT)
	h.exit("nginx", exitCode(0))
	h.advance(22 * time.Second)
	h.wantGroupSignals("php-fpm", unix.SIGTERM)
	h.h.set(true) // a leftover in php-fpm's group ignores SIGTERM
	h.exit("php-fpm", killedBy(unix.SIGTERM))
	h.wantPhase(reaping)
	h.advance(termGrace)
	h.advance(killWait)
	h.h.mu.Lock()
	all := slices.Clone(h.h.all)
	h.h.mu.Unlock()
	if !slices.Contains(all, unix.SIGKILL) {
		t.Fatalf("signals to what is left: %v, want SIGKILL among them", all)
	}
	h.h.set(false)
	h.s.onOrphan()
	h.wantPhase(done)
	if h.s.code != 128+9 {
		t.Fatalf("exit code %d, want 137: the stop needed SIGKILL", h.s.code)
	}
}

// TestRequestsShareOneBudget: with no bound of its own, nginx waits for its
// requests as long as php-fpm's bound allows, counted from its SIGQUIT;
// php-fpm then gets the rest of that budget, and at least a second.
func TestRequestsShareOneBudget(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGTERM)
	h.advance(5 * time.Second) // drain
	h.wantSignals("nginx", unix.SIGQUIT)
	h.advance(22*time.Second - time.Millisecond)
	h.wantGroupSignals("nginx")
	h.advance(time.Millisecond)
	h.wantGroupSignals("nginx", unix.SIGTERM)
	h.exit("nginx", exitCode(0))
	h.wantSignals("php-fpm", unix.SIGQUIT)
	if got := h.s.stop.rungEnd.Sub(h.now); got != backGrace {
		t.Fatalf("php-fpm bound %v after the budget ran out, want %v", got, backGrace)
	}
}

// TestEarlyFrontLeavesTheBudgetToTheBack: nginx done after 3 s leaves
// php-fpm the other 19 s of the budget.
func TestEarlyFrontLeavesTheBudgetToTheBack(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGINT)
	h.advance(3 * time.Second)
	h.exit("nginx", exitCode(0))
	if got := h.s.stop.rungEnd.Sub(h.now); got != 19*time.Second {
		t.Fatalf("php-fpm bound %v, want the 19s left of 22s", got)
	}
}

// TestStopTimeoutBoundsEverything: a stop timeout too short for the plan,
// and processes that survive every signal: SIGTERM to everything when the
// reserve begins, SIGKILL a second later, and Run ends at the stop timeout.
func TestStopTimeoutBoundsEverything(t *testing.T) {
	cfg := testConfig()
	cfg.StopTimeout = 10 * time.Second
	h := runningHarness(t, cfg)
	h.h.set(true)
	h.s.onSignal(unix.SIGTERM)
	h.advance(5 * time.Second)
	h.wantSignals("nginx", unix.SIGQUIT)
	h.advance(3*time.Second - time.Millisecond)
	if len(h.h.all) != 0 {
		t.Fatalf("escalated before the reserve: %v", h.h.all)
	}
	h.advance(time.Millisecond)
	if !equalSignals(h.h.all, []unix.Signal{unix.SIGTERM}) {
		t.Fatalf("at the reserve: %v, want SIGTERM to everything", h.h.all)
	}
	h.advance(killWait)
	if !equalSignals(h.h.all, []unix.Signal{unix.SIGTERM, unix.SIGKILL}) {
		t.Fatalf("a second later: %v, want SIGKILL to everything", h.h.all)
	}
	h.advance(time.Second)
	h.wantPhase(done)
	if h.elapsed() != 10*time.Second {
		t.Fatalf("Run ended at %v, want the 10s stop timeout", h.elapsed())
	}
}

// TestNoLadderRestartsPastTheDeadline: php-fpm's master ends on SIGTERM
// but a worker lingers; the ladder goes on where it was and still ends at
// the stop timeout.
func TestNoLadderRestartsPastTheDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.StopTimeout = 10 * time.Second
	h := runningHarness(t, cfg)
	h.h.set(true)
	h.s.onSignal(unix.SIGTERM)
	h.advance(5 * time.Second)
	h.exit("nginx", exitCode(0))
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.advance(3 * time.Second) // php-fpm's bound is cut to the reserve
	h.advance(500 * time.Millisecond)
	h.exit("php-fpm", killedBy(unix.SIGTERM))
	h.advance(500 * time.Millisecond)
	if !equalSignals(h.h.all, []unix.Signal{unix.SIGTERM, unix.SIGKILL}) {
		t.Fatalf("signals to everything %v, want SIGTERM then SIGKILL", h.h.all)
	}
	h.advance(time.Second)
	h.wantPhase(done)
	if h.elapsed() > 10*time.Second {
		t.Fatalf("Run ended at %v, after the 10s stop timeout", h.elapsed())
	}
}

func TestSecondSignalEscalatesEverything(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.h.set(true)
	h.s.onSignal(unix.SIGTERM)
	h.advance(time.Second)
	h.s.onSignal(unix.SIGTERM)
	if !equalSignals(h.h.all, []unix.Signal{unix.SIGTERM}) {
		t.Fatalf("second SIGTERM sent %v to everything, want SIGTERM", h.h.all)
	}
	h.s.onSignal(unix.SIGINT)
	if !equalSignals(h.h.all, []unix.Signal{unix.SIGTERM, unix.SIGKILL}) {
		t.Fatalf("third signal sent %v, want SIGTERM then SIGKILL", h.h.all)
	}
	h.exit("nginx", killedBy(unix.SIGKILL))
	h.h.set(false)
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.wantPhase(done)
	if h.elapsed() > 2*time.Second {
		t.Fatalf("stop took %v after the second signal", h.elapsed())
	}
}

func TestSignalDuringStartIsNotLost(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.onSignal(unix.SIGTERM)
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.ready("php-fpm") // a late readiness report starts nothing
	if h.l.launches("nginx") != 0 {
		t.Fatal("nginx started after a stop request")
	}
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
}

func TestCrashRestartsWithBackoff(t *testing.T) {
	h := runningHarness(t, testConfig())
	first := h.l.last("php-fpm")
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.s.publish()
	if h.s.Status().Ready {
		t.Fatal("ready while php-fpm is down")
	}
	_, group := first.signals()
	if !equalSignals(group, []unix.Signal{unix.SIGKILL}) {
		t.Fatalf("crashed php-fpm's group got %v, want SIGKILL for leftover workers", group)
	}
	h.advance(0)
	if h.l.launches("php-fpm") != 2 {
		t.Fatal("first restart not immediate")
	}
	h.ready("php-fpm")
	h.wantPhase(running)
	h.exit("php-fpm", exitCode(255))
	h.advance(99 * time.Millisecond)
	if h.l.launches("php-fpm") != 2 {
		t.Fatal("second restart came before its 100ms backoff")
	}
	h.advance(time.Millisecond)
	if h.l.launches("php-fpm") != 3 {
		t.Fatal("second restart missing after 100ms")
	}
	if h.s.code != 0 {
		t.Fatalf("a restarted crash set the exit code to %d", h.s.code)
	}
}

func TestRestartWaitsForLeftoverWorkers(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.l.last("php-fpm").groupLeft = true
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.advance(500 * time.Millisecond)
	if h.l.launches("php-fpm") != 1 {
		t.Fatal("restarted while the old workers still held the socket")
	}
	h.l.byName["php-fpm"][0].groupLeft = false
	h.advance(restartPoll)
	if h.l.launches("php-fpm") != 2 {
		t.Fatal("no restart once the old workers were gone")
	}
}

func TestCrashLimitStopsTheRest(t *testing.T) {
	cfg := testConfig()
	h := runningHarness(t, cfg)
	for i := 1; i < cfg.CrashLimit; i++ {
		h.exit("php-fpm", exitCode(70))
		h.advance(time.Duration(i) * 200 * time.Millisecond)
		h.ready("php-fpm")
	}
	h.exit("php-fpm", exitCode(70))
	h.wantPhase(stopping)
	h.wantSignals("nginx", unix.SIGQUIT) // at once: no drain for a failing container
	h.s.publish()
	if h.s.Status().Live {
		t.Fatal("still live after giving up")
	}
	h.exit("nginx", exitCode(0))
	h.wantPhase(done)
	if h.s.code != 70 {
		t.Fatalf("exit code %d, want the crashing child's 70", h.s.code)
	}
}

func TestCrashesOutsideTheWindowAreForgotten(t *testing.T) {
	cfg := testConfig()
	h := runningHarness(t, cfg)
	for range cfg.CrashLimit * 2 {
		h.exit("php-fpm", exitCode(70))
		h.advance(cfg.CrashWindow)
		h.ready("php-fpm")
	}
	h.wantPhase(running)
}

func TestExitDuringStartFailsWithItsCode(t *testing.T) {
	h := newHarness(t, testConfig())
	h.exit("php-fpm", exitCode(78))
	h.wantPhase(done)
	if h.s.code != 78 || h.l.launches("nginx") != 0 {
		t.Fatalf("code %d, nginx launched %d times; want 78 and never", h.s.code, h.l.launches("nginx"))
	}
}

func TestStartTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.advance(10 * time.Second)
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
	if h.s.code != 1 {
		t.Fatalf("code %d, want 1", h.s.code)
	}
}

func TestLaunchFailure(t *testing.T) {
	h := &harness{t: t, l: &fakeLauncher{fail: errors.New("exec: no such file")}, h: &fakeHost{}}
	h.s = New(testConfig(), Deps{Launcher: h.l, Host: h.h})
	h.s.begin()
	h.wantPhase(done)
	if h.s.code != 127 {
		t.Fatalf("code %d, want 127", h.s.code)
	}
}

func TestUSR1IsForwarded(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGUSR1)
	h.wantSignals("php-fpm", unix.SIGUSR1)
	h.wantSignals("nginx", unix.SIGUSR1)
}

func TestRestartDelay(t *testing.T) {
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	for i, w := range want {
		if got := restartDelay(i + 1); got != w {
			t.Errorf("restartDelay(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := restartDelay(100); got != maxBackoff {
		t.Errorf("restartDelay(100) = %v, want the cap %v", got, maxBackoff)
	}
}

// TestRunLoop runs the real event loop on the real clock with fake
// processes: the wiring of channels, timers and readiness goroutines.
func TestRunLoop(t *testing.T) {
	cfg := testConfig()
	cfg.DrainDelay = 50 * time.Millisecond
	for i := range cfg.Children {
		cfg.Children[i].Ready = func(context.Context, int) error { return nil }
	}
	l, host := &fakeLauncher{}, &fakeHost{}
	sigc := make(chan os.Signal, 1)
	s := New(cfg, Deps{Launcher: l, Host: host, Signals: sigc})
	result := make(chan Result, 1)
	go func() { result <- s.Run() }()
	waitFor(t, func() bool { return s.Status().Ready })
	sigc <- unix.SIGTERM
	waitFor(t, func() bool { got, _ := l.last("nginx").signals(); return len(got) == 1 })
	s.exits <- procs.Exit{Pid: l.last("nginx").pid}
	waitFor(t, func() bool { got, _ := l.last("php-fpm").signals(); return len(got) == 1 })
	s.exits <- procs.Exit{Pid: l.last("php-fpm").pid}
	select {
	case r := <-result:
		if r.Code != 0 || r.Reason != "SIGTERM" {
			t.Fatalf("result %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCrashAfterReadyDuringStartIsRestarted: php-fpm was ready and nginx
// is still starting when php-fpm dies: that is a crash to restart, not a
// failed start.
func TestCrashAfterReadyDuringStartIsRestarted(t *testing.T) {
	h := newHarness(t, testConfig())
	h.ready("php-fpm")
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.wantPhase(starting)
	h.ready("nginx")
	h.wantPhase(starting) // php-fpm is not back yet
	h.advance(0)
	if h.l.launches("php-fpm") != 2 || h.l.launches("nginx") != 1 {
		t.Fatalf("launches: php-fpm %d, nginx %d; want a php-fpm restart only", h.l.launches("php-fpm"), h.l.launches("nginx"))
	}
	h.ready("php-fpm")
	h.wantPhase(running)
}

// TestLeftoverWorkersGetQuitOnStop: when a master dies during a stop, its
// workers are asked to finish too instead of being waited out.
func TestLeftoverWorkersGetQuitOnStop(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.h.set(true)
	h.s.onSignal(unix.SIGINT)
	h.exit("nginx", exitCode(0))
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.wantGroupSignals("php-fpm", unix.SIGQUIT)
	h.wantPhase(reaping)
}

// reload drives one reload request through the handler.
func (h *harness) reload(name string) error {
	pid := 0
	if c := h.s.child(name); c != nil && c.proc != nil {
		pid = c.proc.Pid()
	}
	r := reloadRequest{child: name, pid: pid, reply: make(chan error, 1)}
	h.s.onReloadRequest(r)
	return <-r.reply
}

func TestReloadSignalsTheChild(t *testing.T) {
	cfg := testConfig()
	cfg.Children[0].ReloadSignal = unix.SIGUSR2
	cfg.Children[1].ReloadSignal = unix.SIGHUP
	h := runningHarness(t, cfg)
	if err := h.reload("php-fpm"); err != nil {
		t.Fatal(err)
	}
	h.wantSignals("php-fpm", unix.SIGUSR2)
	if err := h.reload("nginx"); err != nil {
		t.Fatal(err)
	}
	h.wantSignals("nginx", unix.SIGHUP)
	if err := h.reload("mysql"); err == nil {
		t.Error("reload of an unknown child passed")
	}
}

func TestNoReloadDuringAStop(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGTERM)
	if err := h.reload("php-fpm"); !errors.Is(err, ErrStopping) {
		t.Fatalf("reload during drain: %v, want ErrStopping", err)
	}
	h.wantSignals("php-fpm")
}

// TestStopWaitsForAReloadInProgress: php-fpm re-executing on SIGUSR2 gets
// its SIGQUIT only once the reload is over.
func TestStopWaitsForAReloadInProgress(t *testing.T) {
	cfg := testConfig()
	cfg.Children[0].ReloadSignal = unix.SIGUSR2
	h := runningHarness(t, cfg)
	if err := h.reload("php-fpm"); err != nil {
		t.Fatal(err)
	}
	h.s.onSignal(unix.SIGINT)
	h.exit("nginx", exitCode(0))
	h.wantSignals("php-fpm", unix.SIGUSR2) // no SIGQUIT yet
	h.advance(500 * time.Millisecond)
	h.s.onReloadDone(reloadOutcome{child: "php-fpm"})
	h.wantSignals("php-fpm", unix.SIGUSR2, unix.SIGQUIT)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
}

func TestSIGHUPAsksTheReloader(t *testing.T) {
	h := runningHarness(t, testConfig())
	asks := make(chan struct{}, 1)
	h.s.deps.Reload = asks
	h.s.onSignal(unix.SIGHUP)
	h.s.onSignal(unix.SIGHUP) // merged with the first, never blocks
	if len(asks) != 1 {
		t.Fatalf("%d reload asks queued, want 1", len(asks))
	}
}

func TestStopBoundFollowsAReload(t *testing.T) {
	cfg := testConfig()
	cfg.Children[0].ReloadSignal = unix.SIGUSR2
	h := runningHarness(t, cfg)
	if err := h.reload("php-fpm"); err != nil {
		t.Fatal(err)
	}
	h.s.onReloadDone(reloadOutcome{"php-fpm", ReloadResult{Served: true, GracefulStop: 12 * time.Second}})
	h.s.onSignal(unix.SIGINT)
	h.exit("nginx", exitCode(0))
	if got := h.s.stop.rungEnd.Sub(h.now); got != 12*time.Second {
		t.Fatalf("php-fpm bound %v, want the reloaded 12s", got)
	}
}

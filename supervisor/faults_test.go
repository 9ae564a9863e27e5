package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestForeignHolderFailsTheStart: another program on nginx's address ends
// lnmp-init at once, with the reason, instead of waiting for a start that
// cannot work.
func TestForeignHolderFailsTheStart(t *testing.T) {
	cfg := testConfig()
	foreign := errors.New("127.0.0.1:8080 is held by pid 7 (nc -l 8080)")
	cfg.Children[1].Free = func([]int) (bool, error) { return false, foreign }
	h := newHarness(t, cfg)
	h.ready("php-fpm")
	if h.l.launches("nginx") != 0 {
		t.Fatal("nginx launched although its address is taken")
	}
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
	if h.s.code != 1 || !h.s.gaveUp {
		t.Fatalf("code %d, gave up %v; want 1, true", h.s.code, h.s.gaveUp)
	}
}

// TestLeftoversAreWaitedFor: while leftovers that Free killed still hold
// the address, the start waits and tries again.
func TestLeftoversAreWaitedFor(t *testing.T) {
	cfg := testConfig()
	busy := 3
	cfg.Children[0].Free = func([]int) (bool, error) { busy--; return busy >= 0, nil }
	h := newHarness(t, cfg)
	if h.l.launches("php-fpm") != 0 {
		t.Fatal("php-fpm launched while its address was busy")
	}
	for range 10 {
		h.advance(restartPoll)
	}
	if h.l.launches("php-fpm") != 1 {
		t.Fatalf("php-fpm launched %d times once free, want 1", h.l.launches("php-fpm"))
	}
}

// TestForeignHolderAtRestartIsACrash: a restart that finds its address
// taken counts toward the crash limit, so a loop that cannot heal ends.
func TestForeignHolderAtRestartIsACrash(t *testing.T) {
	cfg := testConfig()
	taken := false
	cfg.Children[0].Free = func([]int) (bool, error) {
		if taken {
			return false, errors.New("127.0.0.1:9000 is held by pid 7")
		}
		return false, nil
	}
	h := runningHarness(t, cfg)
	taken = true
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	for range cfg.CrashLimit {
		h.advance(maxBackoff)
	}
	h.wantPhase(stopping)
	h.wantSignals("nginx", unix.SIGQUIT) // the rest stops, without a drain
	if !h.s.gaveUp || len(h.s.children[0].crashes) != cfg.CrashLimit {
		t.Fatalf("gave up %v after %d crashes, want the limit %d", h.s.gaveUp, len(h.s.children[0].crashes), cfg.CrashLimit)
	}
}

// TestHungChildIsRestarted: the watch's verdict kills the child's group,
// /livez says not live meanwhile, and the exit is a crash that restarts it.
func TestHungChildIsRestarted(t *testing.T) {
	h := runningHarness(t, testConfig())
	c := h.s.children[0]
	h.s.onWatch(watchReport{idx: 0, gen: c.gen, err: errors.New("master has not run for 10s")})
	h.wantGroupSignals("php-fpm", unix.SIGKILL)
	h.s.publish()
	if st := h.s.Status(); st.Live || !st.Children[0].Hung {
		t.Fatalf("status %+v while hung, want not live", st)
	}
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.advance(time.Millisecond)
	if h.l.launches("php-fpm") != 2 {
		t.Fatalf("php-fpm launched %d times, want a restart", h.l.launches("php-fpm"))
	}
	h.ready("php-fpm")
	h.s.publish()
	if st := h.s.Status(); !st.Live || !st.Ready || len(c.crashes) != 1 {
		t.Fatalf("status %+v after the restart (crashes %d), want live and ready, one crash", st, len(c.crashes))
	}
}

// TestUnansweringChildIsNotReady: a ready child whose watch says it does
// not answer makes lnmp-init not ready, until it answers again.
func TestUnansweringChildIsNotReady(t *testing.T) {
	h := runningHarness(t, testConfig())
	gen := h.s.children[0].gen
	h.s.onWatch(watchReport{idx: 0, gen: gen, answering: false})
	h.s.publish()
	if st := h.s.Status(); st.Ready || st.Children[0].Ready || !st.Children[0].Unanswering || !st.Live {
		t.Fatalf("status %+v, want not ready, live", st)
	}
	h.s.onWatch(watchReport{idx: 0, gen: gen, answering: true})
	h.s.publish()
	if st := h.s.Status(); !st.Ready {
		t.Fatalf("status %+v, want ready again", st)
	}
	// A report of an earlier process changes nothing.
	h.s.onWatch(watchReport{idx: 0, gen: gen - 1, answering: false})
	h.s.publish()
	if !h.s.Status().Ready {
		t.Fatal("a stale watch report made lnmp-init not ready")
	}
}

// TestStopSignalDuringStartIsClean: SIGTERM while php-fpm starts reaches
// it before its handlers are installed, and it dies of the SIGQUIT it was
// sent: a requested stop all the same, exit 0.
func TestStopSignalDuringStartIsClean(t *testing.T) {
	h := newHarness(t, testConfig())
	h.s.onSignal(unix.SIGTERM)
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.exit("php-fpm", killedBy(unix.SIGQUIT))
	h.wantPhase(done)
	if h.s.code != 0 {
		t.Fatalf("exit code %d, want 0", h.s.code)
	}
}

// TestFatalSignalStopsGracefully: kill -SEGV 1 drains and stops like
// SIGTERM; SIGPIPE and SIGTSTP change nothing.
func TestFatalSignalStopsGracefully(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGPIPE)
	h.s.onSignal(unix.SIGTSTP)
	h.wantPhase(running)
	h.s.onSignal(unix.SIGSEGV)
	h.wantPhase(draining)
	h.advance(5 * time.Second)
	h.wantSignals("nginx", unix.SIGQUIT)
}

// TestWatchRunsOnlyWhileReady: the watch starts when the child is ready
// and ends with its process.
func TestWatchRunsOnlyWhileReady(t *testing.T) {
	cfg := testConfig()
	started, ended := make(chan int, 4), make(chan int, 4)
	cfg.Children[0].Watch = func(ctx context.Context, pid int, _ func(bool)) error {
		started <- pid
		<-ctx.Done()
		ended <- pid
		return nil
	}
	h := newHarness(t, cfg)
	select {
	case <-started:
		t.Fatal("the watch started before the child was ready")
	case <-time.After(20 * time.Millisecond):
	}
	h.ready("php-fpm")
	pid := <-started
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	if got := <-ended; got != pid {
		t.Fatalf("watch of %d ended, want %d", got, pid)
	}
}

// TestCrashDuringTheDrainIsHealed: load balancers still send during the
// drain, so a crash then is restarted; the stop goes on as planned and a
// healed crash leaves the exit code at 0.
func TestCrashDuringTheDrainIsHealed(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGTERM)
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.advance(time.Millisecond)
	if h.l.launches("php-fpm") != 2 {
		t.Fatalf("php-fpm launched %d times, want a restart during the drain", h.l.launches("php-fpm"))
	}
	h.ready("php-fpm")
	h.advance(5 * time.Second)
	h.wantSignals("nginx", unix.SIGQUIT)
	h.exit("nginx", exitCode(0))
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
	if h.s.code != 0 {
		t.Fatalf("exit code %d, want 0", h.s.code)
	}
}

// TestOrphansGetSIGTERMAtOnce: once the servers are gone, leftovers that no
// child owns get SIGTERM at once and SIGKILL a second later, not at the end
// of the request budget.
func TestOrphansGetSIGTERMAtOnce(t *testing.T) {
	h := runningHarness(t, testConfig())
	h.s.onSignal(unix.SIGINT)
	h.exit("nginx", exitCode(0))
	h.h.set(true)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(reaping)
	if len(h.h.others) != 1 || h.h.others[0] != unix.SIGTERM {
		t.Fatalf("signals to the others: %v, want SIGTERM at once", h.h.others)
	}
}

// waitingFpm is php-fpm alone, as --only=php-fpm runs it, whose
// BeforeStop waits (for the nginx container) until release is closed.
func waitingFpm() (cfg Config, release chan struct{}) {
	cfg = testConfig()
	cfg.Children = cfg.Children[:1]
	release = make(chan struct{})
	cfg.Children[0].BeforeStop = func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	return cfg, release
}

// TestBeforeStopHoldsTheStopSignal: a php-fpm whose BeforeStop waits (for
// the nginx container) gets SIGQUIT only once the wait ends, with its own
// bound from then, and no escalation during the wait.
func TestBeforeStopHoldsTheStopSignal(t *testing.T) {
	cfg, release := waitingFpm()
	h := newHarness(t, cfg)
	h.ready("php-fpm")
	h.wantPhase(running)
	h.s.onSignal(unix.SIGINT)
	h.advance(30 * time.Second) // long, but within the wait's bound
	h.wantSignals("php-fpm")
	h.wantGroupSignals("php-fpm")
	close(release)
	h.s.onWaited(<-h.s.waitedc)
	h.wantSignals("php-fpm", unix.SIGQUIT)
	if got := h.s.stop.rungEnd.Sub(h.now); got <= 0 {
		t.Fatalf("php-fpm's bound after the wait: %v", got)
	}
}

// TestCrashDuringBeforeStopIsHealed: php-fpm crashes while its stop waits
// for the nginx container, which still sends: it is restarted, and gets
// its stop signal once the wait ends. A crash whose restart is still to
// come when the wait ends is dropped, and the stop goes on.
func TestCrashDuringBeforeStopIsHealed(t *testing.T) {
	cfg, release := waitingFpm()
	h := newHarness(t, cfg)
	h.ready("php-fpm")
	h.s.onSignal(unix.SIGTERM)
	h.advance(cfg.DrainDelay)
	h.exit("php-fpm", killedBy(unix.SIGKILL))
	h.advance(time.Millisecond) // the first restart is immediate
	if n := h.l.launches("php-fpm"); n != 2 {
		t.Fatalf("php-fpm launched %d times, want a restart during the wait", n)
	}
	h.ready("php-fpm")
	close(release)
	h.s.onWaited(<-h.s.waitedc)
	h.wantSignals("php-fpm", unix.SIGQUIT)
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
	if h.s.code != 0 {
		t.Errorf("exit code %d, want 0", h.s.code)
	}
}

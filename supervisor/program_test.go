package supervisor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// withWorker adds a program named worker to cfg.
func withWorker(cfg Config, mod func(*Spec)) Config {
	w := Spec{Name: "worker", Path: "php", StopSignal: unix.SIGTERM, Program: true}
	if mod != nil {
		mod(&w)
	}
	cfg.Children = append(cfg.Children, w)
	return cfg
}

func TestProgramStartsOncePhpFpmIsReady(t *testing.T) {
	h := newHarness(t, withWorker(testConfig(), nil))
	if h.l.launches("worker") != 0 {
		t.Fatal("the program started before php-fpm was ready")
	}
	h.ready("php-fpm")
	if h.l.launches("worker") != 1 || h.l.launches("nginx") != 1 {
		t.Fatalf("after php-fpm: worker %d, nginx %d launches; want both", h.l.launches("worker"), h.l.launches("nginx"))
	}
	h.ready("nginx")
	h.wantPhase(running)
	h.s.publish()
	if st := h.s.Status(); !st.Ready || len(st.Children) != 3 || !st.Children[2].Program {
		t.Fatalf("status %+v", st)
	}
}

// TestProgramStopsWhenTheDrainBegins: the worker gets SIGTERM at once, to
// its group, while nginx and php-fpm drain; lnmp-init ends only when it is
// gone.
func TestProgramStopsWhenTheDrainBegins(t *testing.T) {
	h := runningHarness(t, withWorker(testConfig(), nil))
	h.s.onSignal(unix.SIGTERM)
	h.wantGroupSignals("worker", unix.SIGTERM)
	h.wantSignals("nginx")
	h.advance(5 * time.Second)
	h.wantSignals("nginx", unix.SIGQUIT)
	h.exit("nginx", exitCode(0))
	h.exit("php-fpm", exitCode(0))
	h.h.set(true) // the worker still finishes its job
	h.advance(time.Second)
	h.wantPhase(reaping)
	h.exit("worker", exitCode(0))
	h.h.set(false)
	h.s.onOrphan()
	h.wantPhase(done)
	if h.s.code != 0 {
		t.Fatalf("exit code %d, want 0", h.s.code)
	}
}

// TestProgramStopEscalates: a program past its own stop-timeout gets
// SIGTERM (its stop signal was QUIT), then SIGKILL; the servers' stop goes
// on regardless.
func TestProgramStopEscalates(t *testing.T) {
	h := runningHarness(t, withWorker(testConfig(), func(s *Spec) { s.StopSignal, s.StopTimeout = unix.SIGQUIT, 3*time.Second }))
	h.s.onSignal(unix.SIGINT)
	h.wantGroupSignals("worker", unix.SIGQUIT)
	h.advance(3 * time.Second)
	h.wantGroupSignals("worker", unix.SIGQUIT, unix.SIGTERM)
	h.advance(termGrace)
	h.wantGroupSignals("worker", unix.SIGQUIT, unix.SIGTERM, unix.SIGKILL)
	h.exit("worker", killedBy(unix.SIGKILL))
	h.exit("nginx", exitCode(0))
	h.exit("php-fpm", exitCode(0))
	h.wantPhase(done)
	if h.s.code != 128+9 {
		t.Fatalf("exit code %d, want 137: the stop needed SIGKILL", h.s.code)
	}
}

// TestProgramCrashes: a crash restarts the program with backoff, counted
// against its own crash limit; the servers are untouched.
func TestProgramCrashes(t *testing.T) {
	cfg := withWorker(testConfig(), nil)
	h := runningHarness(t, cfg)
	for i := 1; i < cfg.CrashLimit; i++ {
		h.exit("worker", exitCode(1))
		h.advance(maxBackoff)
		if got := h.l.launches("worker"); got != i+1 {
			t.Fatalf("after crash %d: %d launches", i, got)
		}
		h.wantPhase(running)
	}
	h.exit("worker", exitCode(1))
	h.wantPhase(stopping)
	if h.s.code != 1 || !h.s.gaveUp {
		t.Fatalf("code %d, gave up %v at the crash limit", h.s.code, h.s.gaveUp)
	}
	if h.l.launches("php-fpm") != 1 {
		t.Fatal("php-fpm restarted for a program's crash")
	}
}

// TestProgramExitActions: what on-crash=exit, on-exit-0 restart, ignore and
// exit do.
func TestProgramExitActions(t *testing.T) {
	t.Run("on-crash exit", func(t *testing.T) {
		h := runningHarness(t, withWorker(testConfig(), func(s *Spec) { s.OnCrash = Exit }))
		h.exit("worker", exitCode(3))
		h.wantPhase(draining)
		if h.s.code != 3 {
			t.Fatalf("code %d, want the program's 3", h.s.code)
		}
	})
	t.Run("exit 0 restarts, not a crash", func(t *testing.T) {
		h := runningHarness(t, withWorker(testConfig(), nil))
		h.advance(time.Minute) // it ran a while
		h.exit("worker", exitCode(0))
		h.advance(time.Millisecond)
		if h.l.launches("worker") != 2 || len(h.s.children[2].crashes) != 0 {
			t.Fatalf("launches %d, crashes %d", h.l.launches("worker"), len(h.s.children[2].crashes))
		}
	})
	t.Run("exit 0 ignored", func(t *testing.T) {
		h := runningHarness(t, withWorker(testConfig(), func(s *Spec) { s.OnExit0 = Ignore }))
		h.exit("worker", exitCode(0))
		h.advance(time.Minute)
		h.wantPhase(running)
		if h.l.launches("worker") != 1 {
			t.Fatal("an ignored exit was restarted")
		}
	})
	t.Run("exit 0 ends lnmp-init", func(t *testing.T) {
		h := runningHarness(t, withWorker(testConfig(), func(s *Spec) { s.OnExit0 = Exit }))
		h.exit("worker", exitCode(0))
		h.wantPhase(draining)
		if h.s.code != 0 {
			t.Fatalf("code %d", h.s.code)
		}
	})
}

func withTasks(cfg Config, names ...string) Config {
	for _, n := range names {
		cfg.Tasks = append(cfg.Tasks, Spec{Name: n, Path: "php", StopSignal: unix.SIGTERM})
	}
	return cfg
}

// TestPreStartTasks run in order before php-fpm; a failing one ends
// lnmp-init with its code and starts nothing.
func TestPreStartTasks(t *testing.T) {
	h := newHarness(t, withTasks(testConfig(), "pre-start-1", "pre-start-2"))
	h.wantPhase(preStart)
	if h.l.launches("pre-start-1") != 1 || h.l.launches("pre-start-2") != 0 || h.l.launches("php-fpm") != 0 {
		t.Fatal("tasks not run one by one before php-fpm")
	}
	h.s.onExit(exitOf(h.l.last("pre-start-1"), exitCode(0)))
	if h.l.launches("pre-start-2") != 1 || h.l.launches("php-fpm") != 0 {
		t.Fatal("the second task did not follow the first")
	}
	h.s.onExit(exitOf(h.l.last("pre-start-2"), exitCode(0)))
	h.wantPhase(starting)
	if h.l.launches("php-fpm") != 1 {
		t.Fatal("php-fpm not started after the tasks")
	}

	f := newHarness(t, withTasks(testConfig(), "pre-start-1"))
	f.s.onExit(exitOf(f.l.last("pre-start-1"), exitCode(42)))
	f.wantPhase(done)
	if f.s.code != 42 || f.l.launches("php-fpm") != 0 {
		t.Fatalf("code %d, php-fpm launches %d; want 42 and none", f.s.code, f.l.launches("php-fpm"))
	}
}

// TestSIGTERMDuringATask stops the task (SIGTERM to its group) and exits 0.
func TestSIGTERMDuringATask(t *testing.T) {
	h := newHarness(t, withTasks(testConfig(), "pre-start-1"))
	h.h.set(true)
	h.s.onSignal(unix.SIGTERM)
	h.wantGroupSignals("pre-start-1", unix.SIGTERM)
	h.wantPhase(reaping)
	h.s.onExit(exitOf(h.l.last("pre-start-1"), killedBy(unix.SIGTERM)))
	h.h.set(false)
	h.s.onOrphan()
	h.wantPhase(done)
	if h.s.code != 0 || h.l.launches("php-fpm") != 0 {
		t.Fatalf("code %d, php-fpm launches %d", h.s.code, h.l.launches("php-fpm"))
	}
}

package supervisor

import (
	"context"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

// child is one supervised program and what the supervisor knows of it.
type child struct {
	spec      *Spec
	proc      Process // nil while not running
	gen       int     // counts launches, so stale readiness results are ignored
	ready     bool
	wasReady  bool // became ready at least once: a later exit is a crash, not a failed start
	launched  time.Time
	readyBy   time.Time
	cancel    context.CancelFunc // ends the readiness wait
	restartAt time.Time          // zero: no restart pending
	crashes   []time.Time        // within the crash window
	restarts  int
	leftover  Process // the crashed process, whose workers must be gone before a restart
	reloading bool    // its reload signal was sent and the reload is not over
}

type readyResult struct {
	idx, gen int
	err      error
}

func (s *Supervisor) logChild(c *child) *zap.Logger {
	return s.log.With(zap.String("child", c.spec.Name))
}

// startNext launches the next child of the start order.
func (s *Supervisor) startNext() {
	c := s.children[s.started]
	s.started++
	s.launch(c)
}

// launch starts c and, when it has a readiness check, waits for it in a
// goroutine that reports back on readyc.
func (s *Supervisor) launch(c *child) {
	p, err := s.deps.Launcher.Launch(c.spec, s.exits)
	if err != nil {
		s.logChild(c).Error("child failed to start", zap.Error(err))
		s.giveUp(127, c.spec.Name+" failed to start: "+err.Error())
		return
	}
	now := s.now()
	c.proc, c.gen, c.ready, c.launched = p, c.gen+1, false, now
	c.readyBy = now.Add(s.cfg.StartTimeout)
	s.logChild(c).Info("child started", zap.Int("pid", p.Pid()))
	s.deps.Observer.ChildStarted(c.spec.Name)
	if c.spec.Ready == nil {
		s.markReady(c)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	idx, gen, ready := s.indexOf(c), c.gen, c.spec.Ready
	go func() {
		err := ready(ctx)
		select {
		case s.readyc <- readyResult{idx, gen, err}:
		case <-s.quit:
		}
	}()
}

func (s *Supervisor) indexOf(c *child) int {
	for i, x := range s.children {
		if x == c {
			return i
		}
	}
	return -1
}

func (s *Supervisor) onReady(r readyResult) {
	c := s.children[r.idx]
	if r.gen != c.gen || c.proc == nil || c.ready || r.err != nil {
		return
	}
	s.markReady(c)
}

// markReady records that c serves, and moves the start sequence on.
func (s *Supervisor) markReady(c *child) {
	c.ready, c.wasReady, c.readyBy = true, true, time.Time{}
	c.endReadyWait()
	now := s.now()
	s.logChild(c).Info("child ready", zap.Int("pid", c.proc.Pid()), zap.Duration("after", now.Sub(c.launched)))
	switch s.phase {
	case starting:
		if s.indexOf(c) == s.started-1 && s.started < len(s.children) {
			s.startNext()
			return
		}
		for _, x := range s.children {
			if !x.ready {
				return // a child restarted during start; wait for the rest
			}
		}
		s.phase = running
		s.log.Info("ready: every child serves", zap.Duration("startup", now.Sub(s.startedAt)))
	case running:
		if len(c.crashes) > 0 {
			s.logChild(c).Info("child recovered", zap.Duration("since_crash", now.Sub(c.crashes[len(c.crashes)-1])))
		}
	}
}

// endReadyWait stops a readiness check still running.
func (c *child) endReadyWait() {
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
}

// onReadyTimeout handles a child that did not become ready in time.
func (s *Supervisor) onReadyTimeout(c *child) {
	c.readyBy = time.Time{}
	s.logChild(c).Error("child not ready within the start timeout", zap.Duration("start_timeout", s.cfg.StartTimeout))
	if s.phase == starting {
		s.giveUp(1, c.spec.Name+" did not become ready within the start timeout")
		return
	}
	// A restart that hangs counts as a crash: kill it, and its exit is
	// handled as one.
	_ = c.proc.SignalGroup(unix.SIGKILL)
}

// onExit handles the exit of one of the supervisor's own children: during
// a stop it moves the stop on, before one it is a failed start or a crash.
func (s *Supervisor) onExit(e procs.Exit) {
	c := s.childByPid(e.Pid)
	if c == nil {
		return // a process the supervisor already gave up on
	}
	proc := c.proc
	c.proc, c.ready = nil, false
	c.endReadyWait()
	s.logChild(c).Info("child exited", zap.Int("pid", e.Pid), zap.Int("code", e.Code()),
		zap.String("how", e.String()), zap.Bool("expected", s.phase >= stopping))
	s.deps.Observer.ChildExited(c.spec.Name, e)
	switch {
	case s.phase >= draining:
		s.onExitDuringStop(c, proc, e)
	case s.phase == starting && !c.wasReady:
		// Its workers, if any, get the graceful stop with the rest.
		_ = proc.SignalGroup(unix.SIGQUIT)
		s.giveUp(e.Code(), c.spec.Name+" exited during start: "+e.String())
	default:
		s.onCrash(c, proc, e)
	}
}

func (s *Supervisor) childByPid(pid int) *child {
	for _, c := range s.children {
		if c.proc != nil && c.proc.Pid() == pid {
			return c
		}
	}
	return nil
}

// onCrash restarts c, or gives up when it has crashed too often.
func (s *Supervisor) onCrash(c *child, proc Process, e procs.Exit) {
	now := s.now()
	kept := c.crashes[:0]
	for _, t := range c.crashes {
		if now.Sub(t) < s.cfg.CrashWindow {
			kept = append(kept, t)
		}
	}
	c.crashes = append(kept, now)
	// Workers the master left behind still hold its listening socket; a
	// new master could not bind until they are gone.
	_ = proc.SignalGroup(unix.SIGKILL)
	c.leftover = proc
	if len(c.crashes) >= s.cfg.CrashLimit {
		s.logChild(c).Error("crash limit reached; stopping", zap.Int("crashes", len(c.crashes)),
			zap.Duration("window", s.cfg.CrashWindow))
		s.giveUp(e.Code(), c.spec.Name+" crashed too often: "+e.String())
		return
	}
	delay := restartDelay(len(c.crashes))
	c.restartAt = now.Add(delay)
	s.logChild(c).Warn("child crashed; restarting", zap.Duration("in", delay), zap.Int("crashes_in_window", len(c.crashes)))
	s.deps.Observer.ChildRestarted(c.spec.Name, "crash")
}

// restart launches c again once its crashed predecessor's processes are
// gone, or once they have had the escalation reserve to go.
func (s *Supervisor) restart(c *child) {
	now := s.now()
	if c.leftover != nil && c.leftover.SignalGroup(0) == nil && now.Sub(c.crashes[len(c.crashes)-1]) < EscalationReserve {
		c.restartAt = now.Add(restartPoll)
		return
	}
	c.leftover, c.restartAt = nil, time.Time{}
	c.restarts++
	s.logChild(c).Info("restarting child", zap.Int("restart", c.restarts))
	s.launch(c)
}

package supervisor

import (
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

// The programs of the Procfile (Spec.Program) and the pre-start tasks
// (Config.Tasks): what the supervisor does with them beside the servers.

// quickExit is how long a program must have run for an exit 0 to be
// restarted at once; one that ends sooner waits exitPause, so that a
// program that exits at once cannot spin.
const (
	quickExit = time.Second
	exitPause = time.Second
)

// runTask launches pre-start task i.
func (s *Supervisor) runTask(i int) {
	spec := &s.cfg.Tasks[i]
	p, err := s.deps.Launcher.Launch(spec, s.exits)
	if err != nil {
		s.log.Error("pre-start task failed to start", zap.String("task", spec.Name), zap.Error(err))
		s.giveUp(127, spec.Name+" failed to start: "+err.Error())
		return
	}
	s.task, s.taskIdx = p, i
	s.log.Info("pre-start task started", zap.String("task", spec.Name), zap.Int("pid", p.Pid()))
}

// onTaskExit moves on after a pre-start task ends: the next task, or the
// children; a failed task ends lnmp-init with its exit code.
func (s *Supervisor) onTaskExit(e procs.Exit) {
	spec := &s.cfg.Tasks[s.taskIdx]
	s.task = nil
	log := s.log.With(zap.String("task", spec.Name), zap.Int("pid", e.Pid), zap.Int("code", e.Code()), zap.String("how", e.String()))
	switch {
	case s.phase >= draining: // stopped by a stop request
		log.Info("pre-start task stopped")
		if e.Code() != 0 && s.code == 0 && e.Signal() != spec.StopSignal {
			s.code = e.Code()
		}
		s.finishWhenNoneLeft()
	case e.Code() != 0:
		log.Error("pre-start task failed; not starting")
		s.giveUp(e.Code(), spec.Name+" failed: "+e.String())
	case s.taskIdx+1 < len(s.cfg.Tasks):
		log.Info("pre-start task done")
		s.runTask(s.taskIdx + 1)
	default:
		log.Info("pre-start task done")
		if len(s.children) == 0 {
			s.phase = done // a supervisor of tasks alone: their run is over
			return
		}
		s.phase = starting
		s.startNext()
	}
}

// startPrograms starts every program; php-fpm, which they may call, is
// ready.
func (s *Supervisor) startPrograms() {
	s.programsStarted = true
	for _, c := range s.children[s.servers:] {
		s.start(c)
	}
}

// onProgramExit handles a program that ended on its own: by OnExit0 after
// an exit 0, by OnCrash otherwise.
func (s *Supervisor) onProgramExit(c *child, proc Process, e procs.Exit) {
	now := s.now()
	if e.Code() == 0 {
		switch c.spec.OnExit0 {
		case Exit:
			s.logChild(c).Info("program ended; on-exit-0=exit stops lnmp-init")
			s.requestStop(c.spec.Name+" ended", true)
		case Ignore:
			s.logChild(c).Info("program ended; on-exit-0=ignore leaves it stopped")
		default:
			_ = proc.SignalGroup(unix.SIGKILL) // what it left running
			c.leftover = proc
			c.restartAt = now
			if now.Sub(c.launched) < quickExit {
				c.restartAt = now.Add(exitPause)
			}
			s.deps.Observer.ChildRestarted(c.spec.Name, "exit")
		}
		return
	}
	if c.spec.OnCrash == Exit {
		s.logChild(c).Error("program crashed; on-crash=exit stops lnmp-init", zap.String("how", e.String()))
		s.code, s.gaveUp = e.Code(), true
		s.requestStop(c.spec.Name+" crashed: "+e.String(), true)
		return
	}
	s.onCrash(c, proc, e)
}

// stopProgram sends a program its stop signal, to its process group, and
// sets when it must be gone: its own StopTimeout, within the budget.
func (s *Supervisor) stopProgram(c *child, now time.Time) {
	c.stopBy = s.stop.deadline.Add(-EscalationReserve)
	if t := c.spec.StopTimeout; t > 0 {
		c.stopBy = minTime(c.stopBy, now.Add(t))
	}
	c.stopRung = gracefulRung
	s.logChild(c).Info("stopping program", zap.Int("pid", c.proc.Pid()), zap.String("signal", unix.SignalName(c.spec.StopSignal)),
		zap.Duration("bound", c.stopBy.Sub(now)))
	if err := c.proc.SignalGroup(c.spec.StopSignal); err != nil {
		s.logChild(c).Warn("stop signal failed", zap.Error(err))
	}
}

// stopping returns what a program's stop signals: its process while it
// runs, else what is left of its process group after its main process
// ended during the stop; nil once neither is.
func (c *child) stopping() Process {
	if c.proc != nil {
		return c.proc
	}
	if c.group != nil && c.group.SignalGroup(0) != nil {
		c.group, c.stopBy = nil, time.Time{} // the group is empty
	}
	return c.group
}

// programsWake is when a running program's stop next escalates.
func (s *Supervisor) programsWake() time.Time {
	var next time.Time
	for _, c := range s.children[s.servers:] {
		if c.stopping() != nil && !c.stopBy.IsZero() && (next.IsZero() || c.stopBy.Before(next)) {
			next = c.stopBy
		}
	}
	return next
}

// onProgramTimers escalates the programs whose stop is overdue: SIGTERM
// when their own stop signal was another, then SIGKILL, then giving up.
func (s *Supervisor) onProgramTimers(now time.Time) {
	for _, c := range s.children[s.servers:] {
		p := c.stopping()
		if p == nil || c.stopBy.IsZero() || now.Before(c.stopBy) {
			continue
		}
		sig := unix.SIGKILL
		if c.stopRung == gracefulRung && c.spec.StopSignal != unix.SIGTERM {
			sig = unix.SIGTERM
		}
		if c.stopRung >= killRung {
			s.logChild(c).Error("program survived SIGKILL; giving up on it")
			c.proc, c.group, c.stopBy = nil, nil, time.Time{}
			s.finishWhenNoneLeft()
			continue
		}
		s.logChild(c).Warn("program's stop deadline passed; escalating", zap.String("signal", unix.SignalName(sig)))
		if sig == unix.SIGTERM {
			c.stopRung, c.stopBy = termRung, now.Add(termGrace)
		} else {
			c.stopRung, c.stopBy = killRung, now.Add(killWait)
		}
		if p.SignalGroup(sig) == nil {
			s.escalated(sig)
		}
	}
}

// programsLeft reports whether a program, or what is left of its process
// group, still runs.
func (s *Supervisor) programsLeft() bool {
	for _, c := range s.children[s.servers:] {
		if c.stopping() != nil {
			return true
		}
	}
	return false
}

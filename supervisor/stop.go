package supervisor

import (
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// requestStop begins the stop: not ready from now on, no more restarts, a
// drain delay when asked for and something serves, then the children one by
// one from the front.
func (s *Supervisor) requestStop(reason string, drain bool) {
	if s.phase >= draining {
		return
	}
	now := s.now()
	wasRunning := s.phase == running
	s.requested = s.code == 0
	s.reason = reason
	s.stopStart, s.phaseStart = now, now
	s.stopDeadline = now.Add(s.cfg.StopTimeout)
	for _, c := range s.children {
		// No restart, and no start timeout: the stop bounds everything now.
		c.restartAt, c.leftover, c.readyBy = time.Time{}, nil, time.Time{}
		if c.cancel != nil {
			c.cancel()
			c.cancel = nil
		}
	}
	s.log.Info("stopping", zap.String("reason", reason), zap.Bool("drain", drain && wasRunning),
		zap.Duration("drain_delay", s.cfg.DrainDelay), zap.Duration("stop_timeout", s.cfg.StopTimeout))
	s.stopIdx = len(s.children) - 1
	s.requestDeadline = time.Time{}
	if drain && wasRunning && s.cfg.DrainDelay > 0 {
		s.phase = draining
		s.drainUntil = minTime(now.Add(s.cfg.DrainDelay), s.stopDeadline.Add(-Reserve))
		return
	}
	s.stopNext()
}

// stopNext sends the stop signal to the next running child, from the back of
// the start order, or moves on to reaping when none is left.
func (s *Supervisor) stopNext() {
	now := s.now()
	s.phaseStart = now
	if s.phase != reaping {
		s.step = graceful
	}
	for ; s.stopIdx >= 0; s.stopIdx-- {
		c := s.children[s.stopIdx]
		if c.proc == nil {
			continue
		}
		s.phase = stopping
		s.phaseDeadline = s.stopBound(s.stopIdx, now)
		if c.reloading {
			// A php-fpm re-executing itself on SIGUSR2 would die of a
			// SIGQUIT that arrives before its handlers are back.
			c.stopHeld = true
			s.logChild(c).Info("stop waits for the reload in progress", zap.Duration("bound", s.phaseDeadline.Sub(now)))
			return
		}
		s.sendStop(c)
		return
	}
	// The last phase keeps the deadline of the child stopped before it: php-fpm's
	// workers outlive its master only within its own bound.
	if s.phase != stopping {
		s.phaseDeadline = s.stopDeadline.Add(-Reserve)
	}
	s.phase = reaping
	if !s.deps.Host.HasChildren() {
		s.finish()
		return
	}
	s.log.Info("waiting for leftover processes", zap.Duration("bound", s.phaseDeadline.Sub(now)))
}

// sendStop sends c its stop signal.
func (s *Supervisor) sendStop(c *child) {
	sig := c.spec.StopSignal
	s.logChild(c).Info("stopping child", zap.Int("pid", c.proc.Pid()), zap.String("signal", unix.SignalName(sig)),
		zap.Duration("bound", s.phaseDeadline.Sub(s.now())))
	if err := c.proc.Signal(sig); err != nil {
		s.logChild(c).Warn("stop signal failed", zap.Error(err))
	}
}

// stopBound is the deadline for child i's graceful stop, started now.
func (s *Supervisor) stopBound(i int, now time.Time) time.Time {
	if s.requestDeadline.IsZero() {
		s.requestDeadline = now.Add(s.cfg.Children[0].StopBound)
	}
	return stopBound(s.cfg.Children, i, now, s.requestDeadline, s.stopDeadline)
}

// stopBound is the deadline for child i's graceful stop, started at now.
//
// The requests in flight when the first child (nginx) gets its stop signal
// are the same requests the last one (php-fpm) runs, so they share one
// budget: the last child's bound, counted from that first stop signal
// (requestDeadline). A front child waits for them until then, or until its
// own bound if shorter. The last child gets what is left of the budget, but
// at least backGrace: once the front has finished its requests, the back
// is idle and stops in milliseconds. Nothing runs past the stop deadline
// less the escalation reserve. Plan uses the same arithmetic.
func stopBound(children []Spec, i int, now, requestDeadline, stopDeadline time.Time) time.Time {
	d := requestDeadline
	if i == 0 {
		d = maxTime(d, now.Add(backGrace))
	} else if b := children[i].StopBound; b > 0 {
		d = minTime(d, now.Add(b))
	}
	return maxTime(minTime(d, stopDeadline.Add(-Reserve)), now)
}

// childStopped records the end of child c's stop phase and moves on.
func (s *Supervisor) childStopped(c *child) {
	d := s.now().Sub(s.phaseStart)
	s.logChild(c).Info("child stopped", zap.Duration("duration", d), zap.Bool("escalated", s.step > graceful))
	s.deps.Observer.PhaseDone(c.spec.Name, d)
	s.stopIdx--
	s.stopNext()
}

// escalate moves the current stop phase one step up the ladder when its
// deadline has passed: SIGTERM, then SIGKILL, then giving up on it. Once the
// reserve at the end of the stop timeout is reached, the ladder takes
// everything left at once, and its deadlines are capped, so no later phase
// can run past the stop timeout.
func (s *Supervisor) escalate() {
	now := s.now()
	if s.phase == stopping && !now.Before(s.stopDeadline.Add(-Reserve)) {
		s.phase = reaping // the reserve: one ladder for everything
	}
	switch s.step {
	case graceful:
		s.step, s.phaseDeadline = termSent, minTime(now.Add(termGrace), s.stopDeadline.Add(-killWait))
		s.signalPhase(unix.SIGTERM)
	case termSent:
		s.step, s.phaseDeadline = killSent, minTime(now.Add(killWait), s.stopDeadline)
		s.signalPhase(unix.SIGKILL)
	case killSent:
		s.log.Error("processes survived SIGKILL; giving up on them", zap.String("phase", s.phase.String()))
		if s.phase == stopping {
			// Forget the child: its exit, if it ever comes, changes nothing.
			s.children[s.stopIdx].proc = nil
			s.stopIdx--
			s.stopNext()
			return
		}
		s.finish()
	}
}

// signalPhase sends sig to what the current phase waits for: the child
// being stopped and its group, or, when reaping, everything left. Only a
// signal that reached a process counts as an escalation.
func (s *Supervisor) signalPhase(sig unix.Signal) {
	reached := 0
	if s.phase == stopping {
		c := s.children[s.stopIdx]
		s.logChild(c).Warn("stop deadline passed; escalating", zap.String("signal", unix.SignalName(sig)))
		if c.proc.SignalGroup(sig) == nil {
			reached = 1
		}
	} else {
		reached = s.deps.Host.SignalAll(sig)
		s.log.Warn("stop deadline passed; escalating", zap.String("signal", unix.SignalName(sig)), zap.Int("processes", reached))
	}
	if reached == 0 {
		return
	}
	if sig > s.escalated {
		s.escalated = sig
	}
	s.deps.Observer.Escalated(sig)
}

// hurry answers a second stop signal: skip every wait left and escalate
// everything at once, one step further for each further signal.
func (s *Supervisor) hurry() {
	if s.phase == done {
		return
	}
	next := termSent
	if s.step >= termSent {
		next = killSent
	}
	s.phase, s.step = reaping, next-1
	s.escalate()
}

// finish ends Run.
func (s *Supervisor) finish() {
	now := s.now()
	if s.phase == reaping && !s.phaseStart.IsZero() {
		s.deps.Observer.PhaseDone("leftovers", now.Sub(s.phaseStart))
	}
	if s.code == 0 && s.escalated != 0 {
		s.code = 128 + int(s.escalated)
	}
	s.phase = done
	s.log.Info("stopped", zap.Int("exit_code", s.code), zap.String("reason", s.reason),
		zap.Duration("stop_duration", now.Sub(s.stopStart)))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

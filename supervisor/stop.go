package supervisor

import (
	"context"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

// The stop, from its request to the end of Run. Every transition of it is
// in this file, in the order a stop goes through them:
//
//	requestStop  the request (a signal, or giveUp after a failure)
//	endDrain     the drain delay is over
//	stopNext     the next child from the back gets its stop signal
//	             (held while the child reloads, see releaseHeldStop)
//	childStopped it has exited; the next one
//	escalate     a deadline passed: the next rung of the ladder
//	hurry        a second or third stop signal: every rung at once
//	finish       every process is gone, or the last rung is climbed

// rung is how far the ladder has climbed for what the current stop phase
// waits for. Each rung is one escalation step with a wait of its own.
type rung int

const (
	// gracefulRung: the child's own stop signal was sent (or is held for
	// its reload); it finishes its requests within its phase's deadline.
	gracefulRung rung = iota
	// termRung: past that deadline, SIGTERM to its process group.
	termRung
	// killRung: termGrace later, SIGKILL, then killWait for the reaping.
	killRung
	// abandonedRung: processes survived SIGKILL; the stop goes on without
	// them.
	abandonedRung
)

// stop is the state of the stop. It is zero until requestStop.
type stop struct {
	reason   string
	begun    time.Time
	deadline time.Time // begun + StopTimeout: lnmp-init has exited by then
	drainEnd time.Time
	// budgetEnd is when the requests in flight at the first stop signal
	// have used up their budget (see phaseDeadline); zero before it.
	budgetEnd time.Time

	current    int       // the child being stopped, an index into children
	phaseBegun time.Time // when the current phase (drain, a child, leftovers) began
	rung       rung
	rungEnd    time.Time // when the wait of the current rung ends
	held       bool      // the current child's stop signal waits for its reload
	waiting    bool      // the current child's stop signal waits for its BeforeStop
	// orphansKillAt is when the leftovers no child owns (outside
	// orphanGroups) get SIGKILL.
	orphansKillAt time.Time
	orphanGroups  []int
	// strongest is the strongest escalation signal that reached a process:
	// a stop that needed one exits 128+it.
	strongest unix.Signal
}

// requestStop begins the stop: not ready from now on, no more restarts, a
// drain delay when asked for and something serves, then the children one by
// one from the back of the start order.
func (s *Supervisor) requestStop(reason string, drain bool) {
	if s.phase >= draining {
		return
	}
	now := s.now()
	wasRunning := s.phase == running
	s.stop = stop{reason: reason, begun: now, deadline: now.Add(s.cfg.StopTimeout), phaseBegun: now,
		current: s.servers - 1}
	close(s.stopping)
	for _, c := range s.children {
		// No restart, and no start timeout: the stop bounds everything now.
		c.restartAt, c.leftover, c.readyBy = time.Time{}, nil, time.Time{}
		c.endWaits()
	}
	drain = drain && wasRunning && s.cfg.DrainDelay > 0
	// Programs (a queue worker finishing its job) and a pre-start task get
	// their stop signal now, while the servers drain.
	for _, c := range s.children[s.servers:] {
		if c.proc != nil {
			s.stopProgram(c, now)
		}
	}
	if s.task != nil {
		s.log.Info("stopping the pre-start task", zap.Int("pid", s.task.Pid()))
		_ = s.task.SignalGroup(s.cfg.Tasks[s.taskIdx].StopSignal)
	}
	level := zap.InfoLevel
	if s.gaveUp {
		level = zap.ErrorLevel
	}
	s.log.Log(level, "stopping", zap.String("reason", reason), zap.Bool("drain", drain),
		zap.Duration("drain_delay", s.cfg.DrainDelay), zap.Duration("stop_timeout", s.cfg.StopTimeout))
	if drain {
		s.phase = draining
		s.stop.drainEnd = minTime(now.Add(s.cfg.DrainDelay), s.stop.deadline.Add(-EscalationReserve))
		return
	}
	s.stopNext()
}

// giveUp records why lnmp-init gives up and stops what is left, without a
// drain delay: the container is failing and should be restarted.
func (s *Supervisor) giveUp(code int, reason string) {
	if s.phase >= draining {
		return
	}
	if code == 0 {
		code = 1
	}
	s.code, s.gaveUp = code, true
	s.requestStop(reason, false)
}

// stopWake is when the stop's next timer-driven step is due, if any.
func (s *Supervisor) stopWake() time.Time {
	switch s.phase {
	case draining:
		return s.stop.drainEnd
	case stopping:
		return s.stop.rungEnd
	case reaping:
		next := minTime(s.stop.rungEnd, s.now().Add(reapPoll))
		if !s.stop.orphansKillAt.IsZero() {
			next = minTime(next, s.stop.orphansKillAt)
		}
		return next
	}
	return time.Time{}
}

// onStopTimers runs the stop's steps that are due at now.
func (s *Supervisor) onStopTimers(now time.Time) {
	if s.phase >= draining {
		s.onProgramTimers(now)
	}
	if s.phase == reaping && !s.stop.orphansKillAt.IsZero() && !now.Before(s.stop.orphansKillAt) {
		s.stop.orphansKillAt = time.Time{}
		if n := s.deps.Host.SignalOthers(unix.SIGKILL, s.stop.orphanGroups); n > 0 {
			s.log.Warn("leftover processes survived SIGTERM", zap.Int("processes", n), zap.String("signal", "SIGKILL"))
		}
	}
	switch {
	case s.finishWhenNoneLeft():
	case s.phase == draining && !now.Before(s.stop.drainEnd):
		s.endDrain()
	case (s.phase == stopping && !s.stop.waiting || s.phase == reaping) && !now.Before(s.stop.rungEnd):
		s.escalate()
	}
}

// endDrain ends the drain delay: the children's stops begin, and a
// restart still pending after a crash in the drain is dropped.
func (s *Supervisor) endDrain() {
	for _, c := range s.children {
		c.restartAt = time.Time{}
	}
	d := s.now().Sub(s.stop.phaseBegun)
	s.deps.Observer.PhaseDone("drain", d)
	s.log.Info("drain delay over", zap.Duration("duration", d))
	s.stopNext()
}

// stopNext sends the stop signal to the next running child, from the back
// of the start order, or moves on to the leftovers when none is left.
func (s *Supervisor) stopNext() {
	now := s.now()
	s.stop.phaseBegun, s.stop.rung = now, gracefulRung
	for ; s.stop.current >= 0; s.stop.current-- {
		c := s.children[s.stop.current]
		if c.proc == nil {
			continue
		}
		s.phase = stopping
		s.stop.rungEnd = s.phaseDeadline(s.stop.current, now)
		if c.reloading {
			// A php-fpm re-executing itself on SIGUSR2 would die of a
			// SIGQUIT that arrives before its handlers are back.
			s.stop.held = true
			s.logChild(c).Info("stop waits for the reload in progress", zap.Duration("bound", s.stop.rungEnd.Sub(now)))
			return
		}
		if c.spec.BeforeStop != nil {
			s.waitBeforeStop(c, now)
			return
		}
		s.sendStop(c)
		return
	}
	// The leftovers keep the deadline of the child stopped before them:
	// php-fpm's workers outlive their master only within its own bound.
	// Programs still stopping are waited for until their own deadlines.
	if s.phase != stopping {
		s.stop.rungEnd = s.stop.deadline.Add(-EscalationReserve)
	}
	if p := s.programsWake(); !p.IsZero() {
		s.stop.rungEnd = maxTime(s.stop.rungEnd, p)
	}
	s.phase = reaping
	if s.finishWhenNoneLeft() {
		return
	}
	s.stopOrphans(now)
	s.log.Info("waiting for leftover processes", zap.Duration("bound", s.stop.rungEnd.Sub(now)))
}

// stopOrphans sends SIGTERM, at once, to the leftovers outside the
// children's process groups: orphans a PHP exec() or a program left in a
// session of their own, which no request waits for and no graceful stop
// ever reaches. SIGKILL follows termGrace later. A server's own workers,
// in its group, keep the bound of their graceful stop. Neither signal
// makes the stop's exit code: the children stopped cleanly.
func (s *Supervisor) stopOrphans(now time.Time) {
	var groups []int
	for _, c := range s.children {
		if c.pgid != 0 {
			groups = append(groups, c.pgid)
		}
	}
	if n := s.deps.Host.SignalOthers(unix.SIGTERM, groups); n > 0 {
		s.log.Info("stopping leftover processes that no child owns", zap.Int("processes", n), zap.String("signal", "SIGTERM"))
		s.stop.orphansKillAt = now.Add(termGrace)
		s.stop.orphanGroups = groups
	}
}

// waitBeforeStop runs c's BeforeStop in a goroutine, bounded so that c
// still gets its least grace before the escalation reserve; onWaited
// sends the stop signal when it ends.
func (s *Supervisor) waitBeforeStop(c *child, now time.Time) {
	end := maxTime(now, s.stop.deadline.Add(-EscalationReserve-backGrace))
	s.stop.waiting, s.stop.rungEnd = true, end
	ctx, cancel := context.WithDeadline(context.Background(), end)
	idx, wait := s.stop.current, c.spec.BeforeStop
	go func() {
		defer cancel()
		wait(ctx)
		select {
		case s.waitedc <- idx:
		case <-s.quit:
		}
	}()
}

// onWaited sends the stop signal that a BeforeStop held back, with the
// child's own bound counted from now.
func (s *Supervisor) onWaited(idx int) {
	if s.phase != stopping || !s.stop.waiting || s.stop.current != idx {
		return
	}
	c := s.children[idx]
	now := s.now()
	s.stop.waiting, s.stop.phaseBegun, s.stop.budgetEnd = false, now, time.Time{}
	s.stop.rungEnd = s.phaseDeadline(idx, now)
	if c.proc == nil {
		// It crashed during the wait and its restart is still to come:
		// no need for it any more.
		c.restartAt = time.Time{}
		s.stop.current--
		s.stopNext()
		return
	}
	s.sendStop(c)
}

// releaseHeldStop sends c the stop signal its reload held back.
func (s *Supervisor) releaseHeldStop(c *child) {
	if s.phase == stopping && s.children[s.stop.current] == c && s.stop.held {
		s.stop.held = false
		s.sendStop(c)
	}
}

// sendStop sends c its stop signal.
func (s *Supervisor) sendStop(c *child) {
	sig := c.spec.StopSignal
	s.logChild(c).Info("stopping child", zap.Int("pid", c.proc.Pid()), zap.String("signal", unix.SignalName(sig)),
		zap.Duration("bound", s.stop.rungEnd.Sub(s.now())))
	if err := c.proc.Signal(sig); err != nil {
		s.logChild(c).Warn("stop signal failed", zap.Error(err))
	}
}

// phaseDeadline is when child i's graceful stop, started now, must be over.
//
// The requests in flight when the first child (nginx) gets its stop signal
// are the same requests the last one (php-fpm) runs, so they share one
// budget: the last child's GracefulStop, counted from that first stop
// signal (budgetEnd). A front child waits for them until then, or until its
// own GracefulStop if shorter. The last child gets what is left of the
// budget, but at least backGrace: once the front has finished its requests,
// the back is idle and stops in milliseconds. Nothing runs into the
// escalation reserve. Plan uses the same arithmetic (gracefulEnd).
func (s *Supervisor) phaseDeadline(i int, now time.Time) time.Time {
	if s.stop.budgetEnd.IsZero() {
		s.stop.budgetEnd = budgetEndOf(s.cfg.Children[0], now, s.stop.deadline)
	}
	return gracefulEnd(s.cfg.Children, i, now, s.stop.budgetEnd, s.stop.deadline)
}

// budgetEnd is when the request budget counted from now ends: the first
// child's GracefulStop, or, when it has none (an nginx that runs without
// its php-fpm, --only=nginx), as far as the stop allows.
func budgetEndOf(first Spec, now, stopDeadline time.Time) time.Time {
	if first.GracefulStop > 0 {
		return now.Add(first.GracefulStop)
	}
	return stopDeadline.Add(-EscalationReserve)
}

// gracefulEnd is the arithmetic of phaseDeadline, shared with Plan.
func gracefulEnd(children []Spec, i int, now, budgetEnd, stopDeadline time.Time) time.Time {
	d := budgetEnd
	if i == 0 {
		d = maxTime(d, now.Add(backGrace))
	} else if b := children[i].GracefulStop; b > 0 {
		d = minTime(d, now.Add(b))
	}
	return maxTime(minTime(d, stopDeadline.Add(-EscalationReserve)), now)
}

// onExitDuringStop handles a child's exit once the stop has begun.
func (s *Supervisor) onExitDuringStop(c *child, proc Process, e procs.Exit) {
	// A child that does not end cleanly decides the exit code. Ending of
	// the stop signal lnmp-init sent it is clean: a child that gets it
	// before it has a handler for it, during its start, dies of it. Dying
	// of an escalation signal is left to finish, which takes the strongest
	// one that reached anything.
	escalation := s.stop.strongest != 0 && (e.Signal() == unix.SIGTERM || e.Signal() == unix.SIGKILL)
	if e.Code() != 0 && s.code == 0 && e.Signal() != c.spec.StopSignal && !escalation {
		s.code = e.Code()
	}
	// Workers a master left behind get the graceful stop too, rather than
	// serving on with no master until the deadline. A program's group had
	// its stop signal already; what is left of it (the worker a shell
	// started, when the shell died of the signal first) is the program
	// still, bound by its own stop timeout until the group is empty.
	if !c.spec.Program {
		_ = proc.SignalGroup(unix.SIGQUIT)
		c.stopBy = time.Time{}
	} else if proc.SignalGroup(0) == nil && !c.stopBy.IsZero() {
		c.group = proc
		s.logChild(c).Info("program's main process ended; waiting for the rest of its process group", zap.Int("pgid", c.pgid))
	} else {
		c.stopBy = time.Time{}
	}
	switch s.phase {
	case stopping:
		if c == s.children[s.stop.current] {
			s.childStopped(c)
		}
	case reaping:
		s.finishWhenNoneLeft()
	}
}

// childStopped records the end of child c's stop phase and moves on.
func (s *Supervisor) childStopped(c *child) {
	d := s.now().Sub(s.stop.phaseBegun)
	s.logChild(c).Info("child stopped", zap.Duration("duration", d), zap.Bool("escalated", s.stop.rung > gracefulRung))
	s.deps.Observer.PhaseDone(c.spec.Name, d)
	s.stop.held = false
	s.stop.current--
	s.stopNext()
}

// escalate climbs one rung when the current rung's wait is over. Once the
// escalation reserve at the end of the stop timeout is reached, the ladder
// takes everything left at once, so no later phase can run past the stop
// timeout.
func (s *Supervisor) escalate() {
	if s.phase == stopping && !s.now().Before(s.stop.deadline.Add(-EscalationReserve)) {
		s.phase = reaping
	}
	switch s.stop.rung {
	case gracefulRung:
		s.climb(termRung)
	case termRung:
		s.climb(killRung)
	default:
		s.climb(abandonedRung)
	}
}

// hurry answers a second stop signal: skip every wait left and send SIGTERM
// to everything at once; a third sends SIGKILL.
func (s *Supervisor) hurry() {
	if s.phase == done {
		return
	}
	s.phase = reaping
	if s.stop.rung < termRung {
		s.climb(termRung)
		return
	}
	s.climb(killRung)
}

// climb puts the ladder on rung r and sends its signal.
func (s *Supervisor) climb(r rung) {
	now := s.now()
	s.stop.rung = r
	switch r {
	case termRung:
		s.stop.rungEnd = minTime(now.Add(termGrace), s.stop.deadline.Add(-killWait))
		s.signalPhase(unix.SIGTERM)
	case killRung:
		s.stop.rungEnd = minTime(now.Add(killWait), s.stop.deadline)
		s.signalPhase(unix.SIGKILL)
	case abandonedRung:
		s.log.Error("processes survived SIGKILL; giving up on them", zap.String("phase", s.phase.String()))
		if s.phase == reaping {
			s.finish()
			return
		}
		// Forget the child: its exit, if it ever comes, changes nothing.
		s.children[s.stop.current].proc = nil
		s.stop.current--
		s.stopNext()
	}
}

// signalPhase sends sig to what the current phase waits for: the child
// being stopped and its group, or, when reaping, everything left. Only a
// signal that reached a process counts as an escalation.
func (s *Supervisor) signalPhase(sig unix.Signal) {
	reached := 0
	if s.phase == stopping {
		c := s.children[s.stop.current]
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
	s.escalated(sig)
}

// escalated records an escalation signal that reached a process: the
// stop exits 128+SIGKILL once one needed SIGKILL, else 128+SIGTERM. (By
// number SIGKILL, 9, is below SIGTERM, 15.)
func (s *Supervisor) escalated(sig unix.Signal) {
	if s.stop.strongest != unix.SIGKILL {
		s.stop.strongest = sig
	}
	s.deps.Observer.Escalated(sig)
}

// finishWhenNoneLeft ends the stop once it waits for leftovers and none is
// left, and reports whether it did.
func (s *Supervisor) finishWhenNoneLeft() bool {
	if s.phase != reaping || s.programsLeft() || s.task != nil || s.processesLeft() {
		return false
	}
	s.finish()
	return true
}

// finish ends Run.
func (s *Supervisor) finish() {
	now := s.now()
	if s.phase == reaping {
		s.deps.Observer.PhaseDone("leftovers", now.Sub(s.stop.phaseBegun))
	}
	if s.code == 0 && s.stop.strongest != 0 {
		s.code = 128 + int(s.stop.strongest)
	}
	s.phase = done
	level := zap.InfoLevel
	if s.code != 0 {
		level = zap.ErrorLevel
	}
	s.log.Log(level, "stopped", zap.Int("exit_code", s.code), zap.String("reason", s.stop.reason),
		zap.Duration("stop_duration", now.Sub(s.stop.begun)))
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

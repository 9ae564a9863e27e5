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
	stopWatch context.CancelFunc // ends the watch of a ready child
	answering bool               // the watch saw it answer last (true when it has no watch)
	hung      bool               // the watch found it hung; killed, its exit is due
	restartAt time.Time          // zero: no (re)start pending
	stopBy    time.Time          // a program's stop escalates then
	stopRung  rung               // how far a program's stop has escalated
	crashes   []time.Time        // within the crash window
	restarts  int
	leftover  Process   // the crashed process, whose workers must be gone before a restart
	group     Process   // a program's process whose group outlives it during the stop (see stopping)
	freeSince time.Time // since when its addresses are waited for
	reloading bool      // its reload signal was sent and the reload is not over
	lastExit  int       // exit code of its last process, -1 before any exit
	pgid      int       // the process group of its last process
}

type readyResult struct {
	idx, gen int
	err      error
}

// watchReport is what a child's watch tells Run: whether it answers, or,
// with err set, that it is hung.
type watchReport struct {
	idx, gen  int
	answering bool
	err       error
}

func (s *Supervisor) logChild(c *child) *zap.Logger {
	return s.log.With(zap.String("child", c.spec.Name))
}

// startNext starts the next child of the start order.
func (s *Supervisor) startNext() {
	c := s.children[s.started]
	s.started++
	s.start(c)
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
	c.proc, c.gen, c.ready, c.launched, c.pgid = p, c.gen+1, false, now, p.Pid()
	c.readyBy = now.Add(s.cfg.StartTimeout)
	s.logChild(c).Info("child started", zap.Int("pid", p.Pid()))
	s.deps.Observer.ChildStarted(c.spec.Name)
	if c.spec.Ready == nil {
		s.markReady(c)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	idx, gen, ready, pid := s.indexOf(c), c.gen, c.spec.Ready, p.Pid()
	go func() {
		err := ready(ctx, pid)
		if ctx.Err() != nil {
			return // ended by the supervisor: nothing to tell
		}
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
	if r.gen != c.gen || c.proc == nil || c.ready {
		return
	}
	if r.err == nil {
		s.markReady(c)
		return
	}
	// The check found that the child cannot serve, waiting will not help.
	s.logChild(c).Error("child cannot serve", zap.Int("pid", c.proc.Pid()), zap.Error(r.err))
	c.readyBy = time.Time{}
	if s.phase == starting && !c.wasReady {
		s.giveUp(1, c.spec.Name+" cannot serve: "+r.err.Error())
		return
	}
	_ = c.proc.SignalGroup(unix.SIGKILL) // its exit is handled as a crash
}

// markReady records that c serves, starts its watch, and moves the start
// sequence on.
func (s *Supervisor) markReady(c *child) {
	c.ready, c.wasReady, c.readyBy, c.answering = true, true, time.Time{}, true
	c.endWaits()
	s.watch(c)
	now := s.now()
	s.logChild(c).Info("child ready", zap.Int("pid", c.proc.Pid()), zap.Duration("after", now.Sub(c.launched)))
	if c.spec.Program {
		return // no part in the start sequence or in readiness
	}
	if s.indexOf(c) == 0 && !s.programsStarted && s.phase <= running {
		s.startPrograms()
	}
	switch s.phase {
	case starting:
		if s.indexOf(c) == s.started-1 && s.started < s.servers {
			s.startNext()
			return
		}
		for _, x := range s.children[:s.servers] {
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

// watch runs c's watch in a goroutine that reports back on watchc.
func (s *Supervisor) watch(c *child) {
	if c.spec.Watch == nil || s.phase > running {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopWatch = cancel
	idx, gen, pid, watch := s.indexOf(c), c.gen, c.proc.Pid(), c.spec.Watch
	report := func(r watchReport) {
		select {
		case s.watchc <- r:
		case <-ctx.Done():
		case <-s.quit:
		}
	}
	go func() {
		err := watch(ctx, pid, func(ok bool) { report(watchReport{idx: idx, gen: gen, answering: ok}) })
		if err != nil {
			report(watchReport{idx: idx, gen: gen, err: err})
		}
	}()
}

// onWatch takes what a child's watch reports.
func (s *Supervisor) onWatch(r watchReport) {
	c := s.children[r.idx]
	if r.gen != c.gen || c.proc == nil || !c.ready || s.phase > running {
		return
	}
	if r.err != nil {
		s.logChild(c).Error("child hung; killing it to restart it", zap.Int("pid", c.proc.Pid()), zap.Error(r.err))
		c.hung = true
		_ = c.proc.SignalGroup(unix.SIGKILL) // its exit is handled as a crash
		return
	}
	if c.answering == r.answering {
		return
	}
	c.answering = r.answering
	if r.answering {
		s.logChild(c).Info("child answers again")
	} else {
		s.logChild(c).Warn("child does not answer; not ready until it does")
	}
}

// endWaits stops a readiness check or a watch still running.
func (c *child) endWaits() {
	for _, cancel := range []*context.CancelFunc{&c.cancel, &c.stopWatch} {
		if *cancel != nil {
			(*cancel)()
			*cancel = nil
		}
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
	if s.task != nil && e.Pid == s.task.Pid() {
		s.onTaskExit(e)
		return
	}
	c := s.childByPid(e.Pid)
	if c == nil {
		return // a process the supervisor already gave up on
	}
	proc := c.proc
	c.proc, c.ready, c.reloading, c.lastExit = nil, false, false, e.Code() // a reload ends with its process
	c.endWaits()
	heal := s.stillServes(c)
	// A program got its stop signal when the stop began, drain or not.
	expected := s.phase >= stopping && !heal || s.phase == draining && c.spec.Program
	level := zap.WarnLevel
	if expected {
		level = zap.InfoLevel
	}
	s.logChild(c).Log(level, "child exited", zap.Int("pid", e.Pid), zap.Int("code", e.Code()),
		zap.String("how", e.String()), zap.Bool("expected", expected))
	s.deps.Observer.ChildExited(c.spec.Name, e)
	switch {
	case heal:
		// Load balancers, or the other container's nginx, still send:
		// heal it.
		s.onCrash(c, proc, e)
	case s.phase >= draining:
		s.onExitDuringStop(c, proc, e)
	case c.spec.Program:
		s.onProgramExit(c, proc, e)
	case s.phase == starting && !c.wasReady:
		// Its workers, if any, get the graceful stop with the rest.
		_ = proc.SignalGroup(unix.SIGQUIT)
		s.giveUp(e.Code(), c.spec.Name+" exited during start: "+e.String())
	default:
		s.onCrash(c, proc, e)
	}
}

// stillServes reports whether server c is still meant to serve although a
// stop has begun: during the drain, and while its own stop waits for its
// BeforeStop (the php-fpm side of a two-container pod, while nginx's side
// still sends). A crash then is healed.
func (s *Supervisor) stillServes(c *child) bool {
	if c.spec.Program {
		return false
	}
	return s.phase == draining || s.phase == stopping && s.stop.waiting && s.children[s.stop.current] == c
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
	// Workers the master left behind still hold its listening socket; a
	// new master could not bind until they are gone.
	_ = proc.SignalGroup(unix.SIGKILL)
	c.leftover = proc
	s.crashed(c, e.Code(), e.String())
}

// crashed counts a crash of c (how it ended, and its code) and schedules
// the restart, or gives up when the crash limit is reached.
func (s *Supervisor) crashed(c *child, code int, how string) {
	now := s.now()
	kept := c.crashes[:0]
	for _, t := range c.crashes {
		if now.Sub(t) < s.cfg.CrashWindow {
			kept = append(kept, t)
		}
	}
	c.crashes = append(kept, now)
	reason := "crash"
	if c.hung {
		reason = "hung"
	}
	if len(c.crashes) >= s.cfg.CrashLimit {
		s.logChild(c).Error("crash limit reached; stopping", zap.Int("crashes", len(c.crashes)),
			zap.Duration("window", s.cfg.CrashWindow))
		s.giveUp(code, c.spec.Name+" crashed too often: "+how)
		return
	}
	delay := restartDelay(len(c.crashes))
	c.restartAt = now.Add(delay)
	s.logChild(c).Warn("child crashed; restarting", zap.String("reason", reason), zap.Duration("in", delay),
		zap.Int("crashes_in_window", len(c.crashes)))
	s.deps.Observer.ChildRestarted(c.spec.Name, reason)
}

// start launches c once nothing stands in its way: the workers of a
// crashed predecessor, which must be gone (or have had the escalation
// reserve to go), and processes holding its addresses. Otherwise it tries
// again soon, or gives up on this start.
func (s *Supervisor) start(c *child) {
	now := s.now()
	if s.phase > draining && !s.stillServes(c) {
		c.restartAt = time.Time{}
		return // the servers' stops have begun: no restart any more
	}
	if c.leftover != nil && c.leftover.SignalGroup(0) == nil && now.Sub(c.crashes[len(c.crashes)-1]) < EscalationReserve {
		c.restartAt = now.Add(restartPoll)
		return
	}
	c.leftover, c.restartAt = nil, time.Time{}
	if !s.addressesFree(c) {
		return
	}
	c.hung = false
	if c.wasReady {
		c.restarts++
		s.logChild(c).Info("restarting child", zap.Int("restart", c.restarts))
	}
	s.launch(c)
}

// addressesFree frees c's addresses before it starts (see Spec.Free). It
// reports false when the start must wait (c.restartAt is set) or cannot
// happen: at the first start that ends lnmp-init, at a restart it counts
// as a crash.
func (s *Supervisor) addressesFree(c *child) bool {
	if c.spec.Free == nil {
		return true
	}
	now := s.now()
	busy, err := c.spec.Free(s.otherGroups(c))
	if err != nil {
		s.logChild(c).Error("cannot start: an address it listens on is taken", zap.Error(err))
		if !c.wasReady {
			s.giveUp(1, c.spec.Name+" cannot start: "+err.Error())
		} else {
			s.crashed(c, 1, err.Error())
		}
		return false
	}
	if busy {
		if c.freeSince.IsZero() {
			c.freeSince = now
		}
		if now.Sub(c.freeSince) < EscalationReserve {
			c.restartAt = now.Add(restartPoll)
			return false
		}
		s.logChild(c).Warn("leftover processes still hold its addresses; starting anyway")
	}
	c.freeSince = time.Time{}
	return true
}

// otherGroups lists the process groups of the running children but c.
func (s *Supervisor) otherGroups(c *child) []int {
	var out []int
	for _, x := range s.children {
		if x != c && x.proc != nil {
			out = append(out, x.proc.Pid())
		}
	}
	return out
}

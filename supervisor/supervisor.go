package supervisor

import (
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

// phase is where the supervisor is in its life.
type phase int

const (
	preStart phase = iota // the pre-start tasks run, one by one
	starting              // children start one by one, each once ready
	running               // every child started; crashes are restarted
	draining              // stop requested; everything still serves
	stopping              // children get their stop signal, front first
	reaping               // children gone; waiting for leftover processes
	done
)

var phaseNames = [...]string{"pre-start", "starting", "running", "draining", "stopping", "reaping", "done"}

func (p phase) String() string { return phaseNames[p] }

// Deps are the supervisor's connections to the world.
type Deps struct {
	Launcher Launcher
	Host     Host
	// Signals carries TERM, QUIT, INT, HUP, USR1 and USR2.
	Signals <-chan os.Signal
	// Orphans carries the exits of processes lnmp-init did not start.
	Orphans <-chan procs.Exit
	// Reload, when not nil, is told of each SIGHUP (without blocking):
	// the reloader validates and reloads both children.
	Reload   chan<- struct{}
	Log      *zap.Logger
	Observer Observer
}

// Result is how the supervisor ended: the exit code for lnmp-init and why.
type Result struct {
	Code   int
	Reason string
}

// Supervisor runs the children of one lnmp-init. Create it with New, then
// call Run once.
type Supervisor struct {
	cfg  Config
	deps Deps
	log  *zap.Logger
	// now is the clock; tests set it and drive the timers themselves.
	now func() time.Time

	children   []*child
	exits      chan procs.Exit
	readyc     chan readyResult
	watchc     chan watchReport
	waitedc    chan int // a BeforeStop ended, for the child of this index
	reloadc    chan reloadRequest
	reloadDone chan reloadOutcome
	stopping   chan struct{} // closed when the stop begins
	quit       chan struct{} // closed when Run returns

	phase           phase
	servers         int // children that are servers (the rest are programs)
	started         int // servers launched during starting
	programsStarted bool
	task            Process // the pre-start task running, if any
	taskIdx         int
	startedAt       time.Time
	stop            stop

	code int // exit code decided by a failure, or by a child's exit
	// gaveUp is true once a failure, not a request, ended supervision: a
	// start that failed, a crash limit reached.
	gaveUp bool

	hostErr string // the last error asking the host about processes, logged once

	status atomic.Pointer[Status]
}

// New returns a supervisor for cfg.
func New(cfg Config, deps Deps) *Supervisor {
	if deps.Observer == nil {
		deps.Observer = NopObserver{}
	}
	if deps.Log == nil {
		deps.Log = zap.NewNop()
	}
	s := &Supervisor{
		cfg:        cfg,
		deps:       deps,
		log:        deps.Log,
		now:        time.Now,
		exits:      make(chan procs.Exit, 2*len(cfg.Children)+2),
		readyc:     make(chan readyResult, len(cfg.Children)),
		watchc:     make(chan watchReport),
		waitedc:    make(chan int),
		reloadc:    make(chan reloadRequest),
		reloadDone: make(chan reloadOutcome),
		stopping:   make(chan struct{}),
		quit:       make(chan struct{}),
	}
	for i := range cfg.Children {
		s.children = append(s.children, &child{spec: &cfg.Children[i], lastExit: -1})
		if !cfg.Children[i].Program {
			s.servers++
		}
	}
	s.publish()
	return s
}

// Run starts the children and supervises them until they have all stopped,
// and every leftover process is gone.
func (s *Supervisor) Run() Result {
	defer close(s.quit)
	s.startedAt = s.now()
	s.begin()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for s.phase != done {
		s.publish()
		// Go 1.23 timers: Reset and Stop leave no stale value in C.
		var wake <-chan time.Time
		if t, ok := s.nextWake(); ok {
			timer.Reset(max(0, t.Sub(s.now())))
			wake = timer.C
		} else {
			timer.Stop()
		}
		select {
		case sig := <-s.deps.Signals:
			s.onSignal(sig)
		case e := <-s.exits:
			s.onExit(e)
		case <-s.deps.Orphans:
			s.onOrphan()
		case r := <-s.readyc:
			s.onReady(r)
		case r := <-s.watchc:
			s.onWatch(r)
		case i := <-s.waitedc:
			s.onWaited(i)
		case r := <-s.reloadc:
			s.onReloadRequest(r)
		case o := <-s.reloadDone:
			s.onReloadDone(o)
		case <-wake:
			s.onTimers()
		}
	}
	s.publish()
	return Result{Code: s.code, Reason: s.stop.reason}
}

// begin runs the pre-start tasks, if any, or starts the first child.
func (s *Supervisor) begin() {
	if len(s.cfg.Tasks) > 0 {
		s.runTask(0)
		return
	}
	if len(s.children) == 0 {
		s.phase = done
		return
	}
	s.phase = starting
	s.startNext()
}

// Stopping is closed when a stop begins: from then on no reload starts.
func (s *Supervisor) Stopping() <-chan struct{} { return s.stopping }

// nextWake is the earliest moment a timer-driven step is due.
func (s *Supervisor) nextWake() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, c := range s.children {
		consider(c.restartAt)
		if c.proc != nil && !c.ready {
			consider(c.readyBy)
		}
	}
	consider(s.stopWake())
	consider(s.programsWake())
	return next, !next.IsZero()
}

// onTimers runs every timer-driven step that is due: restarts, start
// timeouts, and the stop's.
func (s *Supervisor) onTimers() {
	now := s.now()
	for _, c := range s.children {
		if !c.restartAt.IsZero() && !now.Before(c.restartAt) {
			s.start(c)
		}
		if c.proc != nil && !c.ready && !c.readyBy.IsZero() && !now.Before(c.readyBy) {
			s.onReadyTimeout(c)
		}
	}
	s.onStopTimers(now)
}

// onSignal acts on a signal sent to lnmp-init.
func (s *Supervisor) onSignal(sig os.Signal) {
	if sig == unix.SIGPIPE {
		return // a write to lnmp-init's output failed; logging it would fail again
	}
	s.log.Info("signal received", zap.String("signal", unix.SignalName(sig.(unix.Signal))), zap.String("phase", s.phase.String()))
	switch sig {
	case unix.SIGTERM, unix.SIGQUIT, unix.SIGINT:
		if s.phase >= draining {
			s.hurry()
			return
		}
		// SIGINT is a person at a terminal: no load balancer to wait for.
		s.requestStop(unix.SignalName(sig.(unix.Signal)), sig != unix.SIGINT)
	case unix.SIGUSR1:
		s.forward(unix.SIGUSR1)
	case unix.SIGHUP:
		if s.deps.Reload == nil {
			s.log.Warn("SIGHUP ignored: hot reload is off")
			return
		}
		select {
		case s.deps.Reload <- struct{}{}:
		default: // a reload is already asked for
		}
	default:
		if procs.Fatal(sig) {
			// Meant to end lnmp-init: end it the way that loses nothing.
			s.log.Warn("signal would end a process; handled like SIGTERM", zap.String("signal", unix.SignalName(sig.(unix.Signal))))
			if s.phase >= draining {
				s.hurry()
				return
			}
			s.requestStop(unix.SignalName(sig.(unix.Signal)), true)
			return
		}
		s.log.Warn("signal ignored", zap.String("signal", sig.String()))
	}
}

// forward sends sig to every running child's master.
func (s *Supervisor) forward(sig unix.Signal) {
	for _, c := range s.children {
		if c.proc == nil {
			continue
		}
		if err := c.proc.Signal(sig); err != nil {
			s.log.Warn("forwarding signal failed", zap.String("child", c.spec.Name), zap.Error(err))
		}
	}
}

func (s *Supervisor) onOrphan() {
	s.deps.Observer.OrphanReaped()
	s.finishWhenNoneLeft()
}

// processesLeft asks the host whether any process is left below lnmp-init.
// Should the host fail to tell, it counts as yes: the stop's own deadlines
// then end the wait.
func (s *Supervisor) processesLeft() bool {
	left, err := s.deps.Host.HasChildren()
	if err != nil && err.Error() != s.hostErr {
		s.hostErr = err.Error()
		s.log.Error("cannot tell whether processes are left; waiting for the stop deadline", zap.Error(err))
	}
	return left
}

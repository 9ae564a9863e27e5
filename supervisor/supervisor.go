package supervisor

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/signals"
)

// phase is where the supervisor is in its life.
type phase int

const (
	starting phase = iota // children start one by one, each once ready
	running               // every child started; crashes are restarted
	draining              // stop requested; everything still serves
	stopping              // children get their stop signal, front first
	reaping               // children gone; waiting for leftover processes
	done
)

var phaseNames = [...]string{"starting", "running", "draining", "stopping", "reaping", "done"}

func (p phase) String() string { return phaseNames[p] }

// step is how far the current stop phase has escalated.
type step int

const (
	graceful step = iota
	termSent
	killSent
)

// Deps are the supervisor's connections to the world.
type Deps struct {
	Launcher Launcher
	Host     Host
	// Signals carries TERM, QUIT, INT, HUP, USR1 and USR2.
	Signals <-chan os.Signal
	// Orphans carries the exits of processes lnmp-init did not start.
	Orphans <-chan signals.Exit
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

	// Injected so tests can drive time.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time

	children   []*child
	exits      chan signals.Exit
	readyc     chan readyResult
	reloadc    chan reloadRequest
	reloadDone chan string
	bounds     chan boundChange
	quit       chan struct{} // closed when Run returns

	phase         phase
	step          step
	started       int // children launched during starting
	stopIdx       int // the child being stopped
	startedAt     time.Time
	stopStart     time.Time
	phaseStart    time.Time
	drainUntil    time.Time
	phaseDeadline time.Time
	stopDeadline  time.Time
	// requestDeadline is when the requests in flight at the first stop
	// signal have used up their budget (see stopBound).
	requestDeadline time.Time

	code      int    // exit code decided by a failure, or by a child's exit
	reason    string // why the supervisor stops
	requested bool   // the stop was asked for by a signal or the context
	escalated unix.Signal

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
		after:      time.After,
		exits:      make(chan signals.Exit, 2*len(cfg.Children)+2),
		readyc:     make(chan readyResult, len(cfg.Children)),
		reloadc:    make(chan reloadRequest),
		reloadDone: make(chan string),
		bounds:     make(chan boundChange),
		quit:       make(chan struct{}),
	}
	for i := range cfg.Children {
		s.children = append(s.children, &child{spec: &cfg.Children[i]})
	}
	s.publish()
	return s
}

// Run starts the children and supervises them until they have all stopped,
// and every leftover process is gone. Cancelling ctx stops them as SIGINT
// does.
func (s *Supervisor) Run(ctx context.Context) Result {
	defer close(s.quit)
	s.startedAt = s.now()
	s.startNext()
	ctxDone := ctx.Done()
	for s.phase != done {
		s.publish()
		var wake <-chan time.Time
		if t, ok := s.nextWake(); ok {
			wake = s.after(max(0, t.Sub(s.now())))
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
		case r := <-s.reloadc:
			s.onReloadRequest(r)
		case name := <-s.reloadDone:
			s.onReloadDone(name)
		case b := <-s.bounds:
			s.onBoundChange(b)
		case <-wake:
			s.onTime()
		case <-ctxDone:
			ctxDone = nil
			s.requestStop("context cancelled", false)
		}
	}
	s.publish()
	return Result{Code: s.code, Reason: s.reason}
}

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
	switch s.phase {
	case draining:
		consider(s.drainUntil)
	case stopping:
		consider(s.phaseDeadline)
	case reaping:
		consider(s.phaseDeadline)
		// Orphan reports can be dropped when their buffer is full, so the
		// last one is not a reliable wake-up: poll as well.
		consider(s.now().Add(50 * time.Millisecond))
	}
	return next, !next.IsZero()
}

// onTime runs every timer-driven step that is due.
func (s *Supervisor) onTime() {
	now := s.now()
	for _, c := range s.children {
		if !c.restartAt.IsZero() && !now.Before(c.restartAt) {
			s.restart(c)
		}
		if c.proc != nil && !c.ready && !c.readyBy.IsZero() && !now.Before(c.readyBy) {
			s.onReadyTimeout(c)
		}
	}
	switch {
	case s.phase == reaping && !s.deps.Host.HasChildren():
		s.finish()
	case s.phase == draining && !now.Before(s.drainUntil):
		s.deps.Observer.PhaseDone("drain", now.Sub(s.phaseStart))
		s.log.Info("drain delay over", zap.Duration("duration", now.Sub(s.phaseStart)))
		s.stopIdx = len(s.children) - 1
		s.stopNext()
	case (s.phase == stopping || s.phase == reaping) && !now.Before(s.phaseDeadline):
		s.escalate()
	}
}

// onSignal acts on a signal sent to lnmp-init.
func (s *Supervisor) onSignal(sig os.Signal) {
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
	if s.phase == reaping && !s.deps.Host.HasChildren() {
		s.finish()
	}
}

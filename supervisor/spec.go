// Package supervisor runs nginx and php-fpm as the children of lnmp-init:
// it starts them in order, restarts them when they crash, and stops them in
// the order that loses no request.
//
// One goroutine, Run, owns every piece of state. Everything else (signals,
// exits, readiness results, timers, reload results) reaches it as a message.
// start.go holds the start and the crash policy, stop.go the stop from its
// request to the end, reload.go the part a reload plays.
package supervisor

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// Spec describes one child process.
type Spec struct {
	// Name is how logs and metrics call the child: "php-fpm", "nginx".
	Name string
	// Path is the program; Dir its working directory and Env its
	// environment (empty: lnmp-init's own).
	Path string
	Dir  string
	Env  []string
	// Args returns its arguments (without argv[0]) for each start, which
	// may differ from one start to the next (see package lastgood), and
	// variables to add to its environment for that start (php-fpm's
	// PHP_INI_SCAN_DIR when it runs from a copy of the last good php.ini).
	// Nil means no arguments.
	Args func() (args, env []string)
	// Free, when set, is called before each start with the process groups
	// of the other running children. It frees the child's addresses of
	// what a crashed predecessor left holding them (leftovers outside the
	// others), and reports busy while they are not free yet, or an error
	// when a process lnmp-init did not start holds one.
	Free func(others []int) (busy bool, err error)
	// Ready blocks until the child, whose process is pid, serves, or
	// until ctx ends. Nil means the child is ready once it has started.
	Ready func(ctx context.Context, pid int) error
	// Watch, when set, watches the ready child, whose process is pid,
	// until ctx ends. It calls answering when the child stops or starts
	// answering requests again (readiness follows), and returns an error
	// once the child is hung: it is then killed and restarted as a crash.
	Watch func(ctx context.Context, pid int, answering func(bool)) error
	// StopSignal asks the child to stop gracefully (SIGQUIT for both nginx
	// and php-fpm: SIGTERM makes both cut requests short).
	StopSignal unix.Signal
	// GracefulStop is how long the child's graceful stop may take by its
	// own config (php-fpm's process_control_timeout, nginx's
	// worker_shutdown_timeout, plus their margins). The first child's
	// (php-fpm's) is also the budget of the requests in flight when the
	// stop begins (see phaseDeadline). Zero means no bound of its own: as
	// long as that budget and the stop timeout allow.
	GracefulStop time.Duration
	// ReloadSignal asks the child to re-read its config (SIGHUP for nginx,
	// SIGUSR2 for php-fpm).
	ReloadSignal unix.Signal
	// BeforeStop, when set, waits, when the child's turn in the stop
	// comes, for what must end before it gets its stop signal (the nginx
	// container of the pod, see package peer), until ctx ends: the stop
	// bounds it, keeping the child's least grace after it.
	BeforeStop func(ctx context.Context)

	// Program marks a program of the Procfile, run beside the servers:
	// it starts once the first child (php-fpm) is ready, has no part in
	// readiness, gets StopSignal, sent to its whole process group (a
	// shell's children get it too), as soon as a stop begins, and is
	// waited for within StopTimeout, or the whole stop budget when zero.
	// OnCrash and OnExit0 say what its own exit does.
	Program          bool
	StopTimeout      time.Duration
	OnCrash, OnExit0 Action
}

// Action is what a program's own exit does.
type Action int

const (
	// Restart starts it again: after a crash with the backoff and within
	// the crash limit, after an exit 0 without counting a crash.
	Restart Action = iota
	// Exit ends lnmp-init: the stop begins, with the drain, and lnmp-init
	// exits with the program's code.
	Exit
	// Ignore leaves it stopped (for an exit 0 only).
	Ignore
)

// Config is the supervisor's policy.
type Config struct {
	// Children in start order; they stop in reverse order, so the front
	// (nginx) stops taking requests before the back (php-fpm) stops.
	// Programs (Spec.Program) come after the servers.
	Children []Spec
	// Tasks run one after the other, each to its end, before any child
	// starts: one that fails ends lnmp-init with its exit code.
	Tasks []Spec
	// DrainDelay keeps every child serving after a stop request, while load
	// balancers still send traffic.
	DrainDelay time.Duration
	// StopTimeout bounds the whole stop, drain delay included.
	StopTimeout time.Duration
	// StartTimeout bounds how long a child may take to become ready.
	StartTimeout time.Duration
	// CrashLimit crashes within CrashWindow make lnmp-init give up and exit.
	CrashLimit  int
	CrashWindow time.Duration
}

// Escalation timings. They are fixed, not settings: the stop plan keeps
// them at the end of StopTimeout so SIGKILL lands before the deadline.
const (
	// termGrace is the wait between SIGTERM and SIGKILL, as php-fpm's own
	// master uses between its workers' SIGTERM and SIGKILL.
	termGrace = time.Second
	// killWait is how long SIGKILLed processes get to be reaped.
	killWait = time.Second
	// EscalationReserve is the end of StopTimeout kept for SIGTERM and
	// SIGKILL: no graceful wait runs into it.
	EscalationReserve = termGrace + killWait
	// backGrace is the least the last child's graceful stop gets.
	backGrace = time.Second
	// restartPoll is how often a restart re-checks that the crashed child's
	// leftover workers are gone (they hold its listening socket).
	restartPoll = 10 * time.Millisecond
	// maxBackoff caps the delay between restarts.
	maxBackoff = 5 * time.Second
	// reapPoll is how often the end of a stop looks for leftover processes:
	// an orphan's exit report can be dropped when its buffer is full, so
	// the last one is no reliable wake-up.
	reapPoll = 50 * time.Millisecond
)

// restartDelay is the wait before restart number n (1-based) within the
// crash window: the first is immediate, later ones double from 100 ms.
func restartDelay(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := 100 * time.Millisecond
	for i := 2; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

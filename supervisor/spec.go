// Package supervisor runs nginx and php-fpm as the children of lnmp-init:
// it starts them in order, restarts them when they crash, and stops them in
// the order that loses no request.
//
// One goroutine, Run, owns every piece of state. Everything else (signals,
// exits, readiness results, timers) reaches it as a message.
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
	// Path and Args are the program and its arguments (without argv[0]).
	Path string
	Args []string
	// Ready blocks until the child serves, or until ctx ends. Nil means the
	// child is ready once it has started.
	Ready func(ctx context.Context) error
	// StopSignal asks the child to stop gracefully (SIGQUIT for both nginx
	// and php-fpm: SIGTERM makes both cut requests short).
	StopSignal unix.Signal
	// StopBound is how long the graceful stop may take before lnmp-init
	// escalates. The first child's (php-fpm's) bound is also the budget of
	// the requests in flight when the stop begins (see stopBound). Zero
	// means "as long as that budget and the stop deadline allow".
	StopBound time.Duration
	// ReloadSignal asks the child to re-read its config (SIGHUP for nginx,
	// SIGUSR2 for php-fpm).
	ReloadSignal unix.Signal
}

// Config is the supervisor's policy.
type Config struct {
	// Children in start order; they stop in reverse order, so the front
	// (nginx) stops taking requests before the back (php-fpm) stops.
	Children []Spec
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

// Escalation timings. They are fixed, not settings: the stop plan reserves
// them at the end of StopTimeout so SIGKILL lands before the deadline.
const (
	// termGrace is the wait between SIGTERM and SIGKILL, as php-fpm's own
	// master uses between its workers' SIGTERM and SIGKILL.
	termGrace = time.Second
	// killWait is how long SIGKILLed processes get to be reaped.
	killWait = time.Second
	// Reserve is the part of StopTimeout kept for escalation.
	Reserve = termGrace + killWait
	// backGrace is the least the last child's graceful stop gets.
	backGrace = time.Second
	// restartPoll is how often a restart re-checks that the crashed child's
	// leftover workers are gone (they hold its listening socket).
	restartPoll = 10 * time.Millisecond
	// maxBackoff caps the delay between restarts.
	maxBackoff = 5 * time.Second
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

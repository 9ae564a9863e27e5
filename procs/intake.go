package procs

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// Intake holds the channels signals arrive on.
type Intake struct {
	// Control receives the stop, reload and log signals, in arrival order.
	Control <-chan os.Signal
	// Child receives SIGCHLD. The kernel merges pending SIGCHLDs, so one
	// receive means "reap until nothing is left", not "one child exited".
	Child <-chan os.Signal
	stop  func()
}

// Notify installs handlers for every signal lnmp-init acts on and returns the
// channels they arrive on. Call it before anything else in main: the kernel
// drops signals to PID 1 that have no handler, and one that arrives during
// start must not be lost. The buffers hold what arrives before the
// supervisor first reads.
func Notify() *Intake {
	control := make(chan os.Signal, 16)
	child := make(chan os.Signal, 1)
	// Stop (TERM, QUIT, INT), reload (HUP), log reopening (USR1); USR2 is
	// taken in so that it is logged and ignored rather than fatal.
	signal.Notify(control, unix.SIGTERM, unix.SIGQUIT, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2)
	signal.Notify(child, unix.SIGCHLD)
	return &Intake{
		Control: control,
		Child:   child,
		stop: func() {
			signal.Stop(control)
			signal.Stop(child)
		},
	}
}

// Stop uninstalls the handlers.
func (in *Intake) Stop() { in.stop() }

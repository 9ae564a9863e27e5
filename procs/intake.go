package procs

import (
	"os"
	"os/signal"
	"slices"

	"golang.org/x/sys/unix"
)

// Intake holds the channels signals arrive on.
type Intake struct {
	// Control receives every signal lnmp-init handles, in arrival order:
	// the stop, reload and log signals, and the rest (see Fatal).
	Control <-chan os.Signal
	// Child receives SIGCHLD. The kernel merges pending SIGCHLDs, so one
	// receive means "reap until nothing is left", not "one child exited".
	Child <-chan os.Signal
	stop  func()
}

// fatal are the signals whose default action ends a process (with a core
// dump for most) other than the ones lnmp-init acts on by name: sent to
// PID 1 from outside (`kill -SEGV 1`), they would make the Go runtime exit
// at once, with a stack dump, and the kernel then kills every child in the
// middle of its requests. Taken in, they stop lnmp-init as SIGTERM does.
// (A real fault inside lnmp-init is still a crash: os/signal never takes
// in a synchronous one.)
var fatal = []os.Signal{
	unix.SIGABRT, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGSYS,
	unix.SIGXCPU, unix.SIGXFSZ, unix.SIGALRM, unix.SIGVTALRM, unix.SIGPROF, unix.SIGPWR, unix.SIGSTKFLT, unix.SIGIO,
}

// ignored are taken in only so that they do nothing: SIGPIPE, so that a
// log reader that went away makes a write fail rather than kill PID 1;
// the job-control stops; SIGUSR2, which has no meaning for lnmp-init.
var ignored = []os.Signal{unix.SIGPIPE, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGUSR2}

// Fatal reports whether sig is one that would end lnmp-init by default and
// that it handles like SIGTERM.
func Fatal(sig os.Signal) bool { return slices.Contains(fatal, sig) }

// Ignored reports whether sig is taken in only to be ignored.
func Ignored(sig os.Signal) bool { return slices.Contains(ignored, sig) }

// Notify installs handlers for every signal lnmp-init acts on and returns the
// channels they arrive on. Call it before anything else in main: the kernel
// drops signals to PID 1 that have no handler, and one that arrives during
// start must not be lost. The buffers hold what arrives before the
// supervisor first reads.
func Notify() *Intake {
	control := make(chan os.Signal, 16)
	child := make(chan os.Signal, 1)
	// Stop (TERM, QUIT, INT), reload (HUP), log reopening (USR1).
	named := []os.Signal{unix.SIGTERM, unix.SIGQUIT, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1}
	signal.Notify(control, slices.Concat(named, fatal, ignored)...)
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

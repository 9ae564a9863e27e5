package procs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Exit is how a process ended, as wait4 reported it.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// Code returns the exit code the way a shell does: the process's own exit
// code, or 128 plus the number of the signal that killed it.
func (e Exit) Code() int {
	if e.Status.Signaled() {
		return 128 + int(e.Status.Signal())
	}
	return e.Status.ExitStatus()
}

// Signal returns the signal that killed the process, or 0 when it exited.
func (e Exit) Signal() unix.Signal {
	if e.Status.Signaled() {
		return e.Status.Signal()
	}
	return 0
}

// String says how the process ended, e.g. "exit code 1" or "killed by signal
// SIGKILL".
func (e Exit) String() string {
	if e.Status.Signaled() {
		return fmt.Sprintf("killed by signal %s", unix.SignalName(e.Status.Signal()))
	}
	return fmt.Sprintf("exit code %d", e.Status.ExitStatus())
}

// ExitError is returned by Reaper.Run when the command did not exit 0.
type ExitError struct {
	Exit
}

// Error says how the process ended.
func (e *ExitError) Error() string { return e.Exit.String() }

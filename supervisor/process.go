package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

// Process is a running child as the supervisor sees it.
type Process interface {
	Pid() int
	// Signal signals the child's master process only.
	Signal(sig unix.Signal) error
	// SignalGroup signals the child's whole process group: the master, its
	// workers, and what they started, even after the master has died.
	// Signal 0 reports whether any of them is left.
	SignalGroup(sig unix.Signal) error
}

// Launcher starts children. A started child's exit is sent on exits.
type Launcher interface {
	Launch(spec *Spec, exits chan<- procs.Exit) (Process, error)
}

// Host is what the supervisor asks of the system besides its own children.
type Host interface {
	// HasChildren reports whether any process is left below lnmp-init. An
	// error comes with true: the caller keeps waiting within its deadline.
	HasChildren() (bool, error)
	// SignalAll signals every process below lnmp-init and returns how many
	// it reached.
	SignalAll(sig unix.Signal) int
	// SignalOthers signals every process below lnmp-init outside the
	// process groups groups and returns how many it reached.
	SignalOthers(sig unix.Signal, groups []int) int
}

// Observer is told of lifecycle events, for metrics. It is called from the
// supervisor's goroutine and must not block.
type Observer interface {
	ChildStarted(name string)
	ChildExited(name string, e procs.Exit)
	ChildRestarted(name, reason string)
	PhaseDone(phase string, d time.Duration)
	Escalated(sig unix.Signal)
	OrphanReaped()
}

// NopObserver ignores every event.
type NopObserver struct{}

func (NopObserver) ChildStarted(string)             {}
func (NopObserver) ChildExited(string, procs.Exit)  {}
func (NopObserver) ChildRestarted(string, string)   {}
func (NopObserver) PhaseDone(string, time.Duration) {}
func (NopObserver) Escalated(unix.Signal)           {}
func (NopObserver) OrphanReaped()                   {}

// ReaperLauncher starts children through a procs.Reaper, each in its own
// process group.
type ReaperLauncher struct {
	Reaper *procs.Reaper
	// Stdin is what children read; nil means nothing (os/exec opens
	// /dev/null each time). Give /dev/null opened once: then a start needs
	// no descriptor of its own, even when lnmp-init is short of them.
	Stdin *os.File
	// Output returns the stdout and stderr of one start of the named
	// child; the launcher closes them once the child has started (it keeps
	// its own copies). Nil means lnmp-init's own.
	Output func(name string) (stdout, stderr *os.File, err error)
}

// Launch starts spec's program.
func (l ReaperLauncher) Launch(spec *Spec, exits chan<- procs.Exit) (Process, error) {
	var args, env []string
	if spec.Args != nil {
		args, env = spec.Args()
	}
	cmd := exec.Command(spec.Path, args...)
	cmd.Dir, cmd.Env = spec.Dir, spec.Env
	if len(env) > 0 {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(slices.Clone(cmd.Env), env...) // a later entry wins
	}
	if l.Stdin != nil {
		cmd.Stdin = l.Stdin
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if l.Output != nil {
		stdout, stderr, err := l.Output(spec.Name)
		if err != nil {
			return nil, fmt.Errorf("output of %s: %w", spec.Name, err)
		}
		defer stdout.Close()
		defer stderr.Close()
		cmd.Stdout, cmd.Stderr = stdout, stderr
	}
	// Its own process group lets lnmp-init signal the workers a master left
	// behind, and keeps a terminal's Ctrl-C from reaching the children
	// before lnmp-init has chosen the stop order.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := l.Reaper.Start(cmd, exits); err != nil {
		return nil, err
	}
	return osProcess{cmd.Process}, nil
}

// osProcess signals through os.Process, which uses a pidfd on Linux: a
// signal to a master that was already reaped fails instead of reaching a
// new process that reused its pid.
type osProcess struct{ p *os.Process }

// Pid is the master's pid.
func (o osProcess) Pid() int { return o.p.Pid }

// Signal signals the master through its pidfd.
func (o osProcess) Signal(sig unix.Signal) error { return o.p.Signal(sig) }

// SignalGroup signals the master's process group.
func (o osProcess) SignalGroup(sig unix.Signal) error { return unix.Kill(-o.p.Pid, sig) }

// OSHost is the real Host.
type OSHost struct{}

// HasChildren reports whether any child process is left.
func (OSHost) HasChildren() (bool, error) { return procs.HasChildren() }

// SignalAll signals every descendant of lnmp-init.
func (OSHost) SignalAll(sig unix.Signal) int { return procs.SignalDescendants(sig, nil) }

// SignalOthers signals every descendant outside groups.
func (OSHost) SignalOthers(sig unix.Signal, groups []int) int {
	return procs.SignalDescendants(sig, func(p procs.Proc) bool { return !slices.Contains(groups, p.PGid) })
}

package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Reaper is the only waiter for child processes of lnmp-init. Start every
// child through it; never call exec.Cmd.Wait.
type Reaper struct {
	// mu is held across fork+registration in Start and across each wait4
	// sweep in Reap, so a child can never be reaped before it has an owner.
	mu      sync.Mutex
	owners  map[int]chan<- Exit
	orphans chan Exit
}

// NewReaper returns a reaper. Orphan exits are kept in a buffer of
// orphanBuffer; past that they are reaped but not reported.
func NewReaper(orphanBuffer int) *Reaper {
	return &Reaper{owners: make(map[int]chan<- Exit), orphans: make(chan Exit, orphanBuffer)}
}

// Orphans receives the exits of processes that no one started through the
// reaper: processes re-parented to lnmp-init, such as PHP exec() leftovers or
// php-fpm workers whose master died.
func (r *Reaper) Orphans() <-chan Exit { return r.orphans }

// Start starts cmd; its exit is later sent on notify, which the caller must
// keep reading (the send happens outside the lock, so a caller blocked in
// Start cannot deadlock the reaper).
func (r *Reaper) Start(cmd *exec.Cmd, notify chan<- Exit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	r.owners[cmd.Process.Pid] = notify
	return nil
}

// Reap collects every child that has exited, without blocking, and routes
// each exit to its owner or to Orphans. Call it on every SIGCHLD. It
// returns an error only for a wait4 failure that these arguments cannot
// cause; the children it had collected by then are routed all the same.
func (r *Reaper) Reap() error {
	type routed struct {
		to chan<- Exit
		e  Exit
	}
	var out []routed
	var failed error
	r.mu.Lock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == nil && pid > 0 {
			out = append(out, routed{r.owners[pid], Exit{Pid: pid, Status: ws}})
			delete(r.owners, pid)
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue // a signal arrived during the call; nothing was reaped
		}
		// pid 0 with no error: children exist, none has exited yet.
		// ECHILD: no children at all. Either way the sweep is done.
		if err != nil && !errors.Is(err, unix.ECHILD) {
			// EINVAL or EFAULT: impossible with these arguments. Stop the
			// sweep (retrying would spin); the next SIGCHLD tries again.
			failed = fmt.Errorf("wait4: %w", err)
		}
		break
	}
	r.mu.Unlock()
	for _, o := range out {
		if o.to != nil {
			o.to <- o.e
			continue
		}
		select {
		case r.orphans <- o.e:
		default: // Reaped all the same; only the report is dropped.
		}
	}
	return failed
}

// Loop reaps on every SIGCHLD from child until ctx ends, passing any error
// of Reap to report. It reaps once at the start too, for children that
// exited before it ran.
func (r *Reaper) Loop(ctx context.Context, child <-chan os.Signal, report func(error)) {
	for {
		if err := r.Reap(); err != nil && report != nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-child:
		}
	}
}

// Run runs cmd to its end through the reaper, as exec.Cmd.CombinedOutput
// would, and returns its combined output. A non-zero exit is an
// *ExitError. When ctx ends first, the process is killed.
func (r *Reaper) Run(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	// The output goes through an os.Pipe we own: with a non-file writer,
	// exec starts copying goroutines that only Cmd.Wait would finish.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan Exit, 1)
	err = r.Start(cmd, done)
	pw.Close()
	if err != nil {
		return nil, err
	}
	defer cmd.Process.Release()
	read := make(chan []byte, 1)
	go func() {
		out, _ := io.ReadAll(pr)
		read <- out
	}()
	var e Exit
	select {
	case e = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		// Reap here too: the loop may have stopped with the same context.
		for e.Pid == 0 {
			select {
			case e = <-done:
			case <-time.After(10 * time.Millisecond):
				_ = r.Reap() // an error here is the loop's to report
			}
		}
	}
	var out []byte
	select {
	case out = <-read:
	case <-time.After(time.Second):
		// A grandchild still holds the pipe; take what is there.
		pr.Close()
		out = <-read
	}
	if e.Code() != 0 {
		return out, &ExitError{e}
	}
	return out, ctx.Err()
}

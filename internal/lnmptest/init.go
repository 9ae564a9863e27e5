package lnmptest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// unshareSigkillBug is what util-linux 2.38's unshare prints, before
// exiting 1, when its child died of SIGKILL: it fails to re-raise the
// signal on itself, so the status says 1 where a runtime would say 137.
const unshareSigkillBug = "unshare: sigprocmask unblock failed"

// RunOptions shapes how StartInit runs the process under test.
type RunOptions struct {
	// UID, when not 0, runs the process as UID:UID with no supplementary
	// groups through setpriv, like a container with runAsUser.
	UID int
	// Env is added to the test's own environment (later entries win).
	Env []string
	// Dir is the working directory; empty means the test's.
	Dir string
	// Tee, when set, also receives everything written to stdout and stderr,
	// for watching a run live (e.g. a testing.TB log writer).
	Tee io.Writer
	// RootStdio leaves the capture pipe owned by root even when UID is set.
	// That is how Docker and containerd hand stdio to a non-root container,
	// and then nothing in it can reopen /proc/self/fd/2 (php-fpm's usual
	// error_log) or /dev/stderr: EACCES. By default the pipe belongs to UID,
	// so the sandbox's config works.
	RootStdio bool
}

// Init is a process running as PID 1 of its own PID namespace, under
// unshare --pid --fork --mount-proc, watched from outside as a container
// runtime watches it.
type Init struct {
	cmd    *exec.Cmd
	pid    int // host pid of the namespace's PID 1
	out    *outputBuffer
	exited chan struct{} // closed once unshare has been waited for
	copied chan struct{} // closed once the capture pipe hit EOF
	state  *os.ProcessState
	werr   error
}

// StartInit runs bin with args as PID 1 of a new PID namespace:
//
//	unshare --pid --fork --mount-proc [setpriv --reuid=UID --regid=UID --clear-groups] bin args...
//
// stdout and stderr go to one pipe whose content Output returns. It returns
// once PID 1 exists, which is not yet when its signal handlers do: the
// kernel drops signals PID 1 has no handler for, so wait for a sign of
// readiness before Signal.
func StartInit(bin string, args []string, opt RunOptions) (*Init, error) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("start init: %w", err)
	}
	argv := []string{"--pid", "--fork", "--mount-proc"}
	if opt.UID != 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			return nil, fmt.Errorf("start init as uid %d: %w", opt.UID, err)
		}
		id := strconv.Itoa(opt.UID)
		argv = append(argv, setpriv, "--reuid="+id, "--regid="+id, "--clear-groups")
	}
	argv = append(append(argv, bin), args...)

	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start init: %w", err)
	}
	if opt.UID != 0 && !opt.RootStdio {
		// A non-root process reopening /proc/self/fd/2 is checked against
		// the pipe's owner, not against the fd it already holds.
		if err := w.Chown(opt.UID, opt.UID); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("start init: give the output pipe to uid %d: %w", opt.UID, err)
		}
	}
	cmd := exec.Command(unshare, argv...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Dir = opt.Dir
	cmd.Env = append(os.Environ(), opt.Env...)
	// Its own group, so Kill can reach unshare even if PID 1 never appears.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	w.Close() // only the process tree may hold the write end, or EOF never comes
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}

	in := &Init{cmd: cmd, out: &outputBuffer{tee: opt.Tee},
		exited: make(chan struct{}), copied: make(chan struct{})}
	go func() {
		io.Copy(in.out, r)
		r.Close()
		close(in.copied)
	}()
	go func() {
		in.werr = cmd.Wait()
		in.state = cmd.ProcessState
		close(in.exited)
	}()
	if err := in.findPID1(5 * time.Second); err != nil {
		in.Kill()
		return nil, err
	}
	return in, nil
}

// findPID1 reads unshare's children: its only child is PID 1, whose host
// pid stays the same through setpriv's exec of bin.
func (in *Init) findPID1(timeout time.Duration) error {
	upid := in.cmd.Process.Pid
	path := fmt.Sprintf("/proc/%d/task/%d/children", upid, upid)
	err := WaitUntil(timeout, "unshare's child (the namespace's PID 1)", func() bool {
		if in.hasExited() {
			return true
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			return false
		}
		in.pid, err = strconv.Atoi(fields[0])
		return err == nil
	})
	if in.pid == 0 && in.hasExited() {
		// PID 1 may have run to completion already (exit 3, a config test);
		// Wait and Output still tell what happened.
		return nil
	}
	if err != nil {
		return fmt.Errorf("start init: %w", err)
	}
	return nil
}

// Pid returns the host pid of the namespace's PID 1, or 0 when it exited
// before StartInit could see it.
func (in *Init) Pid() int { return in.pid }

// Output returns everything the process tree wrote to stdout and stderr so
// far, interleaved as written.
func (in *Init) Output() string { return in.out.String() }

// Signal sends sig to PID 1 from outside the namespace, as a container
// runtime does on stop. It refuses once PID 1 is gone, so a recycled pid
// never gets the signal.
func (in *Init) Signal(sig syscall.Signal) error {
	if in.hasExited() {
		return fmt.Errorf("signal %v to pid %d: %w", sig, in.pid, os.ErrProcessDone)
	}
	if err := syscall.Kill(in.pid, sig); err != nil {
		return fmt.Errorf("signal %v to pid %d: %w", sig, in.pid, err)
	}
	return nil
}

// Wait waits up to timeout for PID 1 to exit and returns its exit code as
// a container runtime reports it: the code it exited with, or 128+N when
// signal N killed it. A timeout error wraps os.ErrDeadlineExceeded and
// leaves the process running.
func (in *Init) Wait(timeout time.Duration) (int, error) {
	select {
	case <-in.exited:
	case <-time.After(timeout):
		return -1, fmt.Errorf("wait for pid %d: %w", in.pid,
			&timeoutError{what: "PID 1 to exit", after: timeout})
	}
	// The namespace is empty once unshare returns, so EOF is due; bound it
	// anyway in case bin leaked the pipe to something outside.
	select {
	case <-in.copied:
	case <-time.After(5 * time.Second):
	}
	var exitErr *exec.ExitError
	if in.werr != nil && !errors.As(in.werr, &exitErr) {
		return -1, fmt.Errorf("wait for pid %d: %w", in.pid, in.werr)
	}
	ws, ok := in.state.Sys().(syscall.WaitStatus)
	if !ok {
		return in.state.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	code := ws.ExitStatus()
	if code == 1 && strings.Contains(in.Output(), unshareSigkillBug) {
		return 128 + int(syscall.SIGKILL), nil
	}
	return code, nil
}

// Kill SIGKILLs PID 1, after which the kernel kills everything else in the
// namespace, and waits for it. It is safe to call at any time and more than
// once, which makes it a cleanup.
func (in *Init) Kill() error {
	if !in.hasExited() {
		if in.pid != 0 {
			syscall.Kill(in.pid, syscall.SIGKILL)
		}
		syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-in.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill pid %d: %w", in.pid,
			&timeoutError{what: "unshare to exit after SIGKILL", after: 10 * time.Second})
	}
}

func (in *Init) hasExited() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}

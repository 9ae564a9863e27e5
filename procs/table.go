package procs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Proc is one process as its /proc/PID/stat shows it.
type Proc struct {
	Pid  int
	PPid int // the parent: lnmp-init for an orphan it inherited
	PGid int // the process group, which a child's workers share with it
	// State is stat's one-letter state: R running, S sleeping, D waiting
	// on I/O, T stopped by a signal, t stopped by a tracer, Z a zombie
	// nobody has reaped yet.
	State byte
	Comm  string // the kernel's command name, at most 15 bytes
}

// Stopped reports whether the process is stopped (SIGSTOP, a debugger):
// it runs no code until SIGCONT.
func (p Proc) Stopped() bool { return p.State == 'T' || p.State == 't' }

// ReadProc reads /proc/PID/stat. The command name sits in parentheses and
// may itself hold spaces and ')', so the fields after it are counted from
// the last ')'.
func ReadProc(pid int) (Proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, err
	}
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Proc{}, fmt.Errorf("/proc/%d/stat: no command name in %q", pid, b)
	}
	// state ppid pgrp session ...
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 4 || len(f[0]) != 1 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: too few fields in %q", pid, b)
	}
	p := Proc{Pid: pid, State: f[0][0], Comm: string(b[open+1 : closing])}
	for i, dst := range []*int{&p.PPid, &p.PGid} {
		if *dst, err = strconv.Atoi(f[i+1]); err != nil {
			return Proc{}, fmt.Errorf("/proc/%d/stat: field %d: %w", pid, i+4, err)
		}
	}
	return p, nil
}

// Table is a snapshot of every process in /proc, by pid. Processes may
// start or end while it is read; those that end are left out.
type Table map[int]Proc

// Snapshot reads the table now.
func Snapshot() Table {
	entries, _ := os.ReadDir("/proc") // /proc is always there; an error leaves an empty table
	t := make(Table, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := ReadProc(pid); err == nil {
			t[pid] = p
		}
	}
	return t
}

// Children lists the pids whose parent is pid.
func (t Table) Children(pid int) []int {
	var out []int
	for p, proc := range t {
		if proc.PPid == pid {
			out = append(out, p)
		}
	}
	return out
}

// Descendants lists the pids below root, breadth first.
func (t Table) Descendants(root int) []int {
	children := make(map[int][]int)
	for pid, p := range t {
		children[p.PPid] = append(children[p.PPid], pid)
	}
	var out []int
	for queue := children[root]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// DescendsFrom reports whether pid is below ancestor. The hop limit stops
// a walk through a pid recycled mid-scan into a loop.
func (t Table) DescendsFrom(pid, ancestor int) bool {
	for hops := 0; hops <= len(t) && pid > 0; hops++ {
		p, ok := t[pid]
		if !ok {
			return false
		}
		if p.PPid == ancestor {
			return true
		}
		pid = p.PPid
	}
	return false
}

// Cmdline returns a process's arguments joined by spaces; empty for a
// zombie or a process that is gone.
func Cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// NSPid returns the pid of a process in its innermost PID namespace (1 for
// a container's PID 1), the last NSpid entry of /proc/PID/status; 0 when
// unknown.
func NSPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return 0
}

// BecomeSubreaper makes lnmp-init the reaper of its descendants' orphans
// when it is not PID 1 (which is one already), so the same guarantees hold
// under another init or in tests.
func BecomeSubreaper() error {
	if os.Getpid() == 1 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// HasChildren reports whether any child process, running or exited but not
// yet reaped, is left. It peeks (WNOWAIT) and so reaps nothing. An error
// other than "no children" cannot come from these arguments; it is returned
// with true, so that a caller waiting for the children to go keeps waiting
// within its own deadline rather than stopping early.
func HasChildren() (bool, error) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		switch {
		case err == nil:
			return true, nil // WNOHANG: a child exists, exited or not
		case errors.Is(err, unix.EINTR):
			continue // a signal arrived during the call; ask again
		case errors.Is(err, unix.ECHILD):
			return false, nil
		default:
			return true, fmt.Errorf("waitid: %w", err)
		}
	}
}

// SignalDescendants sends sig to every process below lnmp-init that keep
// accepts (nil: all) and returns how many it reached.
func SignalDescendants(sig unix.Signal, keep func(Proc) bool) int {
	n := 0
	t := Snapshot()
	for _, pid := range t.Descendants(os.Getpid()) {
		if keep != nil && !keep(t[pid]) {
			continue
		}
		if unix.Kill(pid, sig) == nil {
			n++
		}
	}
	return n
}

// Timeslices returns how many times the scheduler has run the process, the
// third field of /proc/PID/schedstat. A process that is stopped, or blocked
// for good, does not add to it; one that wakes up now and then does.
func Timeslices(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("/proc/%d/schedstat: %q", pid, b)
	}
	return strconv.ParseUint(f[2], 10, 64)
}

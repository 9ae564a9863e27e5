package signals

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

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
// yet reaped, is left. It peeks (WNOWAIT) and so reaps nothing.
func HasChildren() bool {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return !errors.Is(err, unix.ECHILD)
	}
}

// Descendants lists the pids of every process below root, read from /proc.
// It is a snapshot: processes may start or end while it reads.
func Descendants(root int) []int {
	children := make(map[int][]int)
	for pid, ppid := range parents() {
		children[ppid] = append(children[ppid], pid)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out
}

// parentOf reads the ppid field of /proc/PID/stat. The command name in
// field 2 may hold spaces and parentheses, so fields count from the last ')'.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// SignalDescendants sends sig to every process below lnmp-init and returns
// how many it reached.
func SignalDescendants(sig unix.Signal) int {
	n := 0
	for _, pid := range Descendants(os.Getpid()) {
		if unix.Kill(pid, sig) == nil {
			n++
		}
	}
	return n
}

// Children lists the pids of pid's direct children, read from /proc.
func Children(pid int) []int {
	var out []int
	for p, ppid := range parents() {
		if ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// parents maps every process in /proc to its parent.
func parents() map[int]int {
	entries, _ := os.ReadDir("/proc")
	out := make(map[int]int, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			out[pid] = ppid
		}
	}
	return out
}

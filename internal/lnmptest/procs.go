package lnmptest

import (
	"sort"
	"strings"

	"github.com/lnmp-init/lnmp-init/procs"
)

// Proc is one process as /proc shows it from the host, as a test prints it
// (procs.Proc with the namespace pid and the command line).
type Proc struct {
	Pid     int    // host pid
	PPid    int    // host pid of the parent
	NSPid   int    // pid inside the namespace (1 for PID 1), 0 if unknown
	State   string // R, S, D, Z, T, ...: "Z" is a zombie nobody has reaped
	Comm    string // kernel command name, at most 15 bytes
	Cmdline string // arguments joined by spaces; empty for zombies
}

// Descendants lists every process below PID 1 in the namespace (PID 1
// itself excluded), found by following parent pids on the host, so zombies
// and re-parented orphans are included. It is sorted by pid and is nil once
// PID 1 is gone.
func (in *Init) Descendants() []Proc {
	if in.hasExited() {
		return nil
	}
	all := procs.Snapshot()
	var out []Proc
	for _, pid := range all.Descendants(in.pid) {
		out = append(out, describe(all[pid]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// PID1 returns PID 1 as /proc shows it, and false once it is gone.
func (in *Init) PID1() (Proc, bool) {
	if in.hasExited() {
		return Proc{}, false
	}
	p, err := procs.ReadProc(in.pid)
	if err != nil {
		return Proc{}, false
	}
	return describe(p), true
}

// describe adds what a test prints to what /proc/PID/stat says.
func describe(p procs.Proc) Proc {
	return Proc{Pid: p.Pid, PPid: p.PPid, NSPid: procs.NSPid(p.Pid), State: string(p.State), Comm: p.Comm,
		Cmdline: procs.Cmdline(p.Pid)}
}

// PHPFPM returns the live php-fpm master and workers in the namespace.
func (in *Init) PHPFPM() []Proc {
	var out []Proc
	for _, p := range in.Descendants() {
		if strings.HasPrefix(p.Comm, "php-fpm") && p.State != "Z" {
			out = append(out, p)
		}
	}
	return out
}

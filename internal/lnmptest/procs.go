package lnmptest

import (
	"bytes"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Proc is one process as /proc shows it from the host.
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
	all := scanProcs()
	var out []Proc
	for _, p := range all {
		if p.Pid != in.pid && descendsFrom(all, p.Pid, in.pid) {
			p.Cmdline = readCmdline(p.Pid)
			p.NSPid = readNSPid(p.Pid)
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// PID1 returns PID 1 as /proc shows it, and false once it is gone.
func (in *Init) PID1() (Proc, bool) {
	if in.hasExited() {
		return Proc{}, false
	}
	p, ok := readStat(in.pid)
	if ok {
		p.Cmdline = readCmdline(in.pid)
		p.NSPid = readNSPid(in.pid)
	}
	return p, ok
}

func descendsFrom(all map[int]Proc, pid, ancestor int) bool {
	// The hop limit stops a walk through a pid that was recycled mid-scan
	// into a loop.
	for hops := 0; hops < len(all) && pid > 1; hops++ {
		p, ok := all[pid]
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

// scanProcs reads every process's stat; ones that exit mid-scan are skipped.
func scanProcs() map[int]Proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	all := make(map[int]Proc, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok {
			all[pid] = p
		}
	}
	return all
}

// readStat parses /proc/PID/stat. comm sits in parentheses and may itself
// contain spaces and ')', so the fields after it are found from the last ')'.
func readStat(pid int) (Proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Proc{}, false
	}
	rest := strings.Fields(string(b[closing+1:]))
	if len(rest) < 2 {
		return Proc{}, false
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return Proc{}, false
	}
	return Proc{Pid: pid, PPid: ppid, State: rest[0], Comm: string(b[open+1 : closing])}, true
}

func readCmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// readNSPid takes the last NSpid entry of /proc/PID/status, the pid in the
// innermost namespace.
func readNSPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return 0
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

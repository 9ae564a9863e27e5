package metrics

import (
	"bytes"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/promtext"
)

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, 100 on every
// Linux architecture Go supports.
const userHZ = 100

// processStats writes the standard process_* metrics and a few go_* ones
// under the names Prometheus's client gives them, read from /proc/self and
// the runtime into buffers it keeps, so a scrape allocates nothing here.
// The rest of what that client added (GC summaries, dozens of memstats)
// is left out: nobody asked for them.
type processStats struct {
	bootTime float64 // seconds since the epoch, from /proc/stat
	pageSize float64
	// statFD and fdDir stay open, -1 when they could not be opened: opening
	// a path allocates, re-reading an open /proc file does not.
	statFD, fdDir int

	mu      sync.Mutex // guards the buffers
	stat    [1024]byte
	dirents [4096]byte
	samples []rtmetrics.Sample
}

func newProcessStats() *processStats {
	p := &processStats{pageSize: float64(os.Getpagesize()), statFD: -1, fdDir: -1}
	if fd, err := unix.Open("/proc/self/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		p.statFD = fd
	}
	if fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		p.fdDir = fd
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for line := range bytes.Lines(b) {
			if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
				p.bootTime, _ = strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			}
		}
	}
	p.samples = []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"},
		{Name: "/gc/heap/allocs:bytes"}}
	return p
}

func (p *processStats) write(w *promtext.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.readStat(); ok {
		w.Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", promtext.Counter, (f[11]+f[12])/userHZ)
		w.Single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", promtext.Gauge, p.bootTime+f[19]/userHZ)
		w.Single("process_virtual_memory_bytes", "Virtual memory size in bytes.", promtext.Gauge, f[20])
		w.Single("process_resident_memory_bytes", "Resident memory size in bytes.", promtext.Gauge, f[21]*p.pageSize)
	}
	if n, ok := p.openFDs(); ok {
		w.Single("process_open_fds", "Number of open file descriptors.", promtext.Gauge, float64(n))
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		w.Single("process_max_fds", "Maximum number of open file descriptors.", promtext.Gauge, float64(lim.Cur))
	}
	w.Single("go_goroutines", "Number of goroutines that currently exist.", promtext.Gauge, float64(runtime.NumGoroutine()))
	rtmetrics.Read(p.samples)
	w.Single("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", promtext.Gauge, float64(p.samples[0].Value.Uint64()))
	w.Single("go_memstats_sys_bytes", "Number of bytes obtained from system.", promtext.Gauge, float64(p.samples[1].Value.Uint64()))
	w.Single("go_memstats_alloc_bytes_total", "Total number of bytes allocated, even if freed.", promtext.Counter, float64(p.samples[2].Value.Uint64()))
	w.Single("go_info", "Information about the Go environment.", promtext.Gauge, 1, "version", runtime.Version())
}

// readStat returns the numeric fields of /proc/self/stat after the command
// name, from the state on (index 0 is field 3 of proc(5)), as far as
// rss (field 24, index 21).
func (p *processStats) readStat() (f [22]float64, ok bool) {
	if p.statFD < 0 {
		return f, false
	}
	n, err := unix.Pread(p.statFD, p.stat[:], 0)
	if err != nil {
		return f, false
	}
	b := p.stat[:n]
	// The command name is in parentheses and may hold spaces or ')'.
	if i := bytes.LastIndexByte(b, ')'); i < 0 || i+2 > len(b) {
		return f, false
	} else {
		b = b[i+2:]
	}
	for k := range f {
		field := b
		if j := bytes.IndexByte(b, ' '); j >= 0 {
			field, b = b[:j], b[j+1:]
		} else {
			b = nil
		}
		if k > 0 { // index 0 is the state letter
			f[k] = float64(atou(field))
		}
	}
	return f, true
}

// openFDs counts the entries of /proc/self/fd, less "." and "..". The
// directory's own descriptor is among them, as it is open.
func (p *processStats) openFDs() (int, bool) {
	if p.fdDir < 0 {
		return 0, false
	}
	if _, err := unix.Seek(p.fdDir, 0, 0); err != nil {
		return 0, false
	}
	count := 0
	for {
		n, err := unix.ReadDirent(p.fdDir, p.dirents[:])
		if err != nil {
			return 0, false
		}
		if n == 0 {
			return count - 2, true
		}
		// struct linux_dirent64: d_reclen is the uint16 at offset 16.
		for off := 0; off+18 <= n; {
			reclen := int(p.dirents[off+16]) | int(p.dirents[off+17])<<8
			if reclen == 0 {
				break
			}
			count++
			off += reclen
		}
	}
}

// atou reads decimal digits up to the first non-digit; a leading '-' (never
// in the fields used) gives 0.
func atou(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

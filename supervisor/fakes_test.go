package supervisor

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
)

// fakeProc records the signals sent to it.
type fakeProc struct {
	mu        sync.Mutex
	pid       int
	sigs      []unix.Signal
	groupSigs []unix.Signal
	groupLeft bool // SignalGroup(0) finds processes
}

func (p *fakeProc) Pid() int { return p.pid }

func (p *fakeProc) Signal(sig unix.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sigs = append(p.sigs, sig)
	return nil
}

func (p *fakeProc) SignalGroup(sig unix.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sig == 0 {
		if p.groupLeft {
			return nil
		}
		return unix.ESRCH
	}
	p.groupSigs = append(p.groupSigs, sig)
	return nil
}

func (p *fakeProc) signals() ([]unix.Signal, []unix.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]unix.Signal(nil), p.sigs...), append([]unix.Signal(nil), p.groupSigs...)
}

// fakeLauncher hands out fakeProcs with increasing pids.
type fakeLauncher struct {
	mu      sync.Mutex
	nextPid int
	byName  map[string][]*fakeProc
	fail    error
}

func (l *fakeLauncher) Launch(spec *Spec, _ chan<- procs.Exit) (Process, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return nil, l.fail
	}
	l.nextPid++
	p := &fakeProc{pid: 100 + l.nextPid}
	if l.byName == nil {
		l.byName = make(map[string][]*fakeProc)
	}
	l.byName[spec.Name] = append(l.byName[spec.Name], p)
	return p, nil
}

// last returns the newest process launched for name, or nil.
func (l *fakeLauncher) last(name string) *fakeProc {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.byName[name]
	if len(ps) == 0 {
		return nil
	}
	return ps[len(ps)-1]
}

func (l *fakeLauncher) launches(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byName[name])
}

// fakeHost answers HasChildren from a flag and records SignalAll.
type fakeHost struct {
	mu       sync.Mutex
	children bool
	all      []unix.Signal
	others   []unix.Signal
}

func (h *fakeHost) HasChildren() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.children, nil
}

func (h *fakeHost) SignalAll(sig unix.Signal) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, sig)
	return 1
}

func (h *fakeHost) set(children bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.children = children
}

// waitReady is a readiness check that the harness answers itself.
func waitReady(ctx context.Context, _ int) error {
	<-ctx.Done()
	return ctx.Err()
}

func testConfig() Config {
	return Config{
		Children: []Spec{
			{Name: "php-fpm", Path: "php-fpm", Ready: waitReady, StopSignal: unix.SIGQUIT, GracefulStop: 22 * time.Second},
			{Name: "nginx", Path: "nginx", Ready: waitReady, StopSignal: unix.SIGQUIT},
		},
		DrainDelay:   5 * time.Second,
		StopTimeout:  40 * time.Second,
		StartTimeout: 10 * time.Second,
		CrashLimit:   4,
		CrashWindow:  time.Minute,
	}
}

// harness drives a Supervisor's handlers directly, one event at a time,
// on a clock that only moves when the test says so.
type harness struct {
	t    *testing.T
	s    *Supervisor
	l    *fakeLauncher
	h    *fakeHost
	now  time.Time
	t0   time.Time
	sigc chan os.Signal
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, l: &fakeLauncher{}, h: &fakeHost{}, now: time.Unix(1_000_000, 0), sigc: make(chan os.Signal)}
	h.t0 = h.now
	h.s = New(cfg, Deps{Launcher: h.l, Host: h.h, Signals: h.sigc})
	h.s.now = func() time.Time { return h.now }
	t.Cleanup(func() { close(h.s.quit) })
	h.s.startedAt = h.now
	h.s.begin()
	return h
}

// running starts both children and makes them ready.
func runningHarness(t *testing.T, cfg Config) *harness {
	h := newHarness(t, cfg)
	h.ready("php-fpm")
	h.ready("nginx")
	h.wantPhase(running)
	return h
}

func (h *harness) idx(name string) int {
	for i, c := range h.s.children {
		if c.spec.Name == name {
			return i
		}
	}
	h.t.Fatalf("no child %q", name)
	return -1
}

func (h *harness) ready(name string) {
	i := h.idx(name)
	h.s.onReady(readyResult{idx: i, gen: h.s.children[i].gen})
}

// exit ends name's current process with a wait status.
func (h *harness) exit(name string, ws unix.WaitStatus) {
	h.t.Helper()
	c := h.s.children[h.idx(name)]
	if c.proc == nil {
		h.t.Fatalf("%s is not running", name)
	}
	h.s.onExit(procs.Exit{Pid: c.proc.Pid(), Status: ws})
}

func exitCode(code int) unix.WaitStatus { return unix.WaitStatus(code << 8) }

func killedBy(sig unix.Signal) unix.WaitStatus { return unix.WaitStatus(sig) }

// advance moves the clock and runs every timer step that came due.
func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	for range 1000 {
		next, ok := h.s.nextWake()
		if !ok || next.After(h.now) || h.s.phase == done {
			return
		}
		h.s.onTimers()
	}
	h.t.Fatal("timers never settled")
}

func (h *harness) elapsed() time.Duration { return h.now.Sub(h.t0) }

func (h *harness) wantPhase(p phase) {
	h.t.Helper()
	if h.s.phase != p {
		h.t.Fatalf("phase = %s, want %s", h.s.phase, p)
	}
}

func (h *harness) wantSignals(name string, want ...unix.Signal) {
	h.t.Helper()
	got, _ := h.l.last(name).signals()
	if !equalSignals(got, want) {
		h.t.Fatalf("%s got signals %v, want %v", name, got, want)
	}
}

func (h *harness) wantGroupSignals(name string, want ...unix.Signal) {
	h.t.Helper()
	_, got := h.l.last(name).signals()
	if !equalSignals(got, want) {
		h.t.Fatalf("%s's group got signals %v, want %v", name, got, want)
	}
}

func equalSignals(a, b []unix.Signal) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// exitOf is the exit of process p with wait status ws.
func exitOf(p *fakeProc, ws unix.WaitStatus) procs.Exit {
	return procs.Exit{Pid: p.pid, Status: ws}
}

func (h *fakeHost) SignalOthers(sig unix.Signal, _ []int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.others = append(h.others, sig)
	return 0
}

package reload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// Timing used by most tests: short enough for a fast suite, with deadlines
// far above it so a loaded machine (-race, -count=5) does not flake.
const (
	testDebounce = 100 * time.Millisecond
	testMaxDelay = time.Second
	deadline     = 5 * time.Second
)

// sentinelGroup is added to every harness. Changing its file and receiving
// a Change that names it alone proves that nothing done before was
// reported: Run handles events in order, so a report caused by earlier
// events would come first or in the same Change.
const sentinelGroup = "sentinel"

// harness runs a Watcher for one test; Changes are read only when the test
// asks, as a slow reader would.
type harness struct {
	t        *testing.T
	w        *Watcher
	out      chan Change
	logs     *observer.ObservedLogs
	sentinel string
	pokes    int
}

func start(t *testing.T, groups []Group, debounce, maxDelay time.Duration) *harness {
	t.Helper()
	h := newHarness(t, groups, debounce, maxDelay)
	h.run()
	return h
}

// newHarness makes the Watcher without running it.
func newHarness(t *testing.T, groups []Group, debounce, maxDelay time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, out: make(chan Change), sentinel: filepath.Join(t.TempDir(), "sentinel")}
	write(t, h.sentinel, "0")
	groups = append(slices.Clone(groups), Group{Name: sentinelGroup, Paths: []string{h.sentinel}})
	core, logs := observer.New(zap.DebugLevel)
	h.logs = logs
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel)).Core(), core))
	w, err := NewWatcher(groups, debounce, maxDelay, log)
	if err != nil {
		t.Fatalf("NewWatcher: %v", err)
	}
	h.w = w
	return h
}

// run starts Run, and stops it when the test ends.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx, h.out) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run returned %v after its context ended, want nil", err)
			}
		case <-time.After(deadline):
			h.t.Errorf("Run did not return within %v of its context ending", deadline)
		}
	})
}

// next returns the next Change, failing the test after timeout.
func (h *harness) next(timeout time.Duration) Change {
	h.t.Helper()
	select {
	case c := <-h.out:
		h.t.Logf("change: groups %v, paths %v", c.Groups, c.Paths)
		return c
	case <-time.After(timeout):
		h.t.Fatalf("no change reported within %v", timeout)
		return Change{}
	}
}

// expect waits for the next Change and checks which groups it names, and
// that their hashes are the content on disk now.
func (h *harness) expect(groups ...string) Change {
	h.t.Helper()
	c := h.next(deadline)
	if !slices.Equal(c.Groups, groups) {
		h.t.Fatalf("change names groups %q, want %q (paths %q)", c.Groups, groups, c.Paths)
	}
	for _, g := range groups {
		if sum, err := h.w.groupHash(g); err != nil || c.Hashes[g] != sum {
			h.t.Errorf("change has hash %.12s for %s, content now hashes to %.12s (%v)", c.Hashes[g], g, sum, err)
		}
	}
	return c
}

// expectNothing checks that nothing was reported for what the test did
// before, by changing the sentinel and getting a Change for it alone.
func (h *harness) expectNothing() {
	h.t.Helper()
	h.pokes++
	replace(h.t, h.sentinel, fmt.Sprint(h.pokes))
	h.expect(sentinelGroup)
}

// expectNone checks that no Change is waiting, after sync has made sure
// Run handled every event. Run hands a Change over as soon as it has one
// and a reader waits, so a short look suffices.
func (h *harness) expectNone() {
	h.t.Helper()
	select {
	case c := <-h.out:
		h.t.Fatalf("unexpected change: groups %v, paths %v", c.Groups, c.Paths)
	case <-time.After(50 * time.Millisecond):
	}
}

// waitLog waits until the watcher has logged msg at least n times.
func (h *harness) waitLog(msg string, n int) {
	h.t.Helper()
	err := lnmptest.WaitUntil(deadline, fmt.Sprintf("%d log entries %q", n, msg), func() bool {
		return h.logs.FilterMessage(msg).Len() >= n
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace writes path the way editors and config tools do: a hidden temp
// file renamed over it, so no reader ever sees it half written.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeAtomic(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := lnmptest.WriteAtomic(dir, files); err != nil {
		t.Fatal(err)
	}
}

// swapIdentical does what the kubelet's AtomicWriter does for an update,
// with the content the volume already has: lnmptest.WriteAtomic, like the
// kubelet, skips such a write, but a watcher must not depend on that.
func swapIdentical(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, old))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, old, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, e.Name()), string(b))
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
		t.Fatal(err)
	}
}

// groupHash returns the current content hash of the named group, read from
// disk now, as Run compares them.
func (w *Watcher) groupHash(group string) (string, error) {
	for _, g := range w.groups {
		if g.name == group {
			sum, _, err := hashGroup(g)
			return sum, err
		}
	}
	return "", fmt.Errorf("reload: no config group %q", group)
}

// fakeClock is a clock that moves only when the test says: a debounce ends
// when the test advances it, never because the machine was slow.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := fakeWaiter{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		w.c <- c.now
		return w.c
	}
	c.waiters = append(c.waiters, w)
	return w.c
}

// Advance moves the clock on and fires every wait that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.c <- c.now
	}
	c.waiters = kept
}

// armed reports whether a wait ending d from now is pending: Run has taken
// the last fired wait and armed the next.
func (c *fakeClock) armed(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(c.now.Add(d)) {
			return true
		}
	}
	return false
}

// startOnClock is start with the Watcher on clk.
func startOnClock(t *testing.T, clk clock, groups []Group, debounce, maxDelay time.Duration) *harness {
	t.Helper()
	h := newHarness(t, groups, debounce, maxDelay)
	h.w.clock = clk
	h.run()
	return h
}

// sync waits until Run has handled every event caused so far: it writes a
// file beside the sentinel that no group covers and waits for Run to log
// its event. inotify delivers one instance's events in order, and Run
// handles them one by one.
func (h *harness) sync() {
	h.t.Helper()
	h.pokes++
	path := filepath.Join(filepath.Dir(h.sentinel), fmt.Sprintf("sync-%d", h.pokes))
	write(h.t, path, "")
	err := lnmptest.WaitUntil(deadline, "the watcher to handle "+path, func() bool {
		return h.logs.FilterMessage("file event").FilterField(zap.String("path", path)).Len() > 0
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

package reload

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap/zaptest/observer"
)

// collect reads Changes for group until one carries want, the hash of the
// final content, and returns how many Changes named group.
func (h *harness) collect(group, want string) int {
	h.t.Helper()
	reports := 0
	for {
		c := h.next(deadline)
		if _, ok := c.Hashes[group]; ok {
			reports++
		}
		if c.Hashes[group] == want {
			return reports
		}
	}
}

// 100 changes to a glob directory while no debounce time passes: one
// burst, reported once, with the final content. The clock is the test's, so
// a loaded machine cannot stretch the burst.
func TestDebounceBurst(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock()
	h := startOnClock(t, clk, []Group{{Name: "glob", Paths: []string{filepath.Join(dir, "*.conf")}}},
		200*time.Millisecond, time.Second)

	for i := range 100 {
		replace(t, filepath.Join(dir, fmt.Sprintf("%d.conf", i%10)), strconv.Itoa(i))
	}
	h.sync()
	h.expectNone()
	clk.Advance(199 * time.Millisecond)
	h.expectNone()
	clk.Advance(time.Millisecond)
	h.expect("glob")
}

// A burst that never goes quiet is still reported, every maxDelay: a write
// every 250 ms for 3 s, with a 300 ms debounce and a 1 s maxDelay, gives a
// report at 1 s, 2 s and 3 s, then one when the writes stop.
func TestMaxDelay(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.conf")
	clk := newFakeClock()
	h := startOnClock(t, clk, []Group{{Name: "file", Paths: []string{main}}}, 300*time.Millisecond, time.Second)

	reports := 0
	for i := range 12 {
		write(t, main, strconv.Itoa(i))
		h.sync()
		clk.Advance(250 * time.Millisecond)
		if i%4 == 3 { // 1 s after the burst's first write
			h.expect("file")
			reports++
			continue
		}
		h.expectNone()
	}
	write(t, main, "last")
	h.sync()
	clk.Advance(300 * time.Millisecond)
	h.expect("file")
	if reports != 3 {
		t.Errorf("3 s of writes with maxDelay 1s gave %d reports before the end, want 3", reports)
	}
}

// A reader that does not keep up gets one Change covering everything.
func TestSlowReaderMerges(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	h := start(t, []Group{
		{Name: "a", Paths: []string{a}},
		{Name: "b", Paths: []string{b}},
	}, testDebounce, testMaxDelay)

	replace(t, b, "b1")
	h.waitLog("burst ended", 1)
	replace(t, a, "a1")
	h.waitLog("burst ended", 2)
	c := h.expect("a", "b")
	if len(c.Paths) != 2 || c.Paths[0] != a || c.Paths[1] != b {
		t.Errorf("merged change has paths %q, want [%s %s]", c.Paths, a, b)
	}
}

// Lost events (inotify's queue overflowed) are made up for by hashing every
// group again. The queue is filled before Run reads it, and the change that
// matters comes after the overflow, so no event of its own reaches Run.
func TestOverflowRehashes(t *testing.T) {
	limit := maxQueuedEvents(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.conf"), "a1")
	h := newHarness(t, []Group{{Name: "glob", Paths: []string{filepath.Join(dir, "*.conf")}}}, testDebounce, testMaxDelay)

	// Writes alternating between two files: the kernel folds an event into
	// the previous one only when both are identical.
	var junk [2]*os.File
	for i := range junk {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("junk%d.txt", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		junk[i] = f
	}
	// Beyond the queue, fsnotify's reader holds one buffer of events.
	for i := range limit + 10000 {
		if _, err := junk[i%2].Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "a.conf"), "a2")
	h.run()
	h.expect("glob")
	if h.logs.FilterMessage("file watch error").Filter(func(e observer.LoggedEntry) bool {
		return strings.Contains(fmt.Sprint(e.ContextMap()["error"]), fsnotify.ErrEventOverflow.Error())
	}).Len() == 0 {
		t.Error("no overflow logged: the test did not exercise what it meant to")
	}
}

// maxQueuedEvents returns the kernel's inotify queue length, skipping when
// filling it would take too long.
func maxQueuedEvents(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skipf("cannot read the inotify queue limit: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n > 100000 {
		t.Skipf("fs.inotify.max_queued_events = %q: too large to overflow in a unit test", b)
	}
	return n
}

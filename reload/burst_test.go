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

// writePaced makes n writes spread over span, each at its own offset from
// the start, so that a slow write or a late wake-up does not stretch the
// whole series. Its sleeps pace the writes; they synchronise nothing.
func writePaced(n int, span time.Duration, do func(i int)) {
	began := time.Now()
	for i := range n {
		time.Sleep(time.Until(began.Add(span * time.Duration(i) / time.Duration(n))))
		do(i)
	}
}

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

// 100 changes within one second to a glob directory: one burst, cut at
// most once by maxDelay, and the final content is what gets reported last.
func TestDebounceBurst(t *testing.T) {
	dir := t.TempDir()
	h := start(t, []Group{{Name: "glob", Paths: []string{filepath.Join(dir, "*.conf")}}},
		200*time.Millisecond, time.Second)

	writePaced(100, 900*time.Millisecond, func(i int) {
		replace(t, filepath.Join(dir, fmt.Sprintf("%d.conf", i%10)), strconv.Itoa(i))
	})
	if n := h.collect("glob", mustHash(t, h.w, "glob")); n > 2 {
		t.Errorf("100 changes within 1s gave %d reports, want at most 2", n)
	}
	h.expectNothing()
}

// A burst that never goes quiet is still reported, every maxDelay.
func TestMaxDelay(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.conf")
	h := start(t, []Group{{Name: "file", Paths: []string{main}}}, 300*time.Millisecond, time.Second)

	writing := make(chan time.Time, 1)
	go func() {
		defer func() { writing <- time.Now() }()
		writePaced(30, 3*time.Second, func(i int) {
			// Not replace: t.Fatal must not be called from this goroutine.
			if err := os.WriteFile(main, []byte(strconv.Itoa(i)), 0o644); err != nil {
				t.Error(err)
			}
		})
	}()
	// Read all the time, or Changes merge while unread.
	var reports []time.Time
	var final string
	var last Change
	for final == "" || last.Hashes["file"] != final {
		select {
		case last = <-h.out:
			reports = append(reports, time.Now())
		case end := <-writing:
			final = mustHash(t, h.w, "file")
			if len(reports) == 0 || !reports[0].Before(end) {
				t.Fatalf("first report came after the writes ended at %v", end)
			}
		case <-time.After(deadline):
			t.Fatalf("no report with the final content; %d reports", len(reports))
		}
	}
	if n := len(reports); n < 2 || n > 5 {
		t.Errorf("3 s of writes with maxDelay 1s gave %d reports, want 2 to 5", n)
	}
	t.Logf("%d reports for 3 s of writes", len(reports))
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

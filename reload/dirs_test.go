package reload

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// A watched directory removed and created again: its inotify watch died
// with the old inode, so only the parent's watch can say it is back.
func TestDirectoryRemovedAndRecreated(t *testing.T) {
	confd := filepath.Join(t.TempDir(), "conf.d")
	mkdir(t, confd)
	write(t, filepath.Join(confd, "a.conf"), "a1")
	h := start(t, []Group{{Name: "glob", Paths: []string{filepath.Join(confd, "*.conf")}}}, testDebounce, testMaxDelay)

	if err := os.RemoveAll(confd); err != nil {
		t.Fatal(err)
	}
	h.expect("glob")
	// Created with its content in one go, faster than a watch can be added.
	mkdir(t, confd)
	write(t, filepath.Join(confd, "a.conf"), "a2")
	h.expect("glob")
	replace(t, filepath.Join(confd, "a.conf"), "a3")
	h.expect("glob")

	// Replaced by a rename, as `mv conf.d.new conf.d` does.
	next := confd + ".new"
	mkdir(t, next)
	write(t, filepath.Join(next, "a.conf"), "a4")
	if err := os.Rename(confd, confd+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, confd); err != nil {
		t.Fatal(err)
	}
	h.expect("glob")
	replace(t, filepath.Join(confd, "a.conf"), "a5")
	h.expect("glob")
	replace(t, filepath.Join(confd+".old", "a.conf"), "old")
	h.expectNothing()
}

// The directory and its parent both missing: no watch can announce them,
// so the watcher retries each second. The clock is the test's: a change
// reported with no retry due proves a watch, not polling.
func TestParentMissing(t *testing.T) {
	root := t.TempDir()
	confd := filepath.Join(root, "etc", "nginx", "conf.d")
	clk := newFakeClock()
	h := startOnClock(t, clk, []Group{{Name: "glob", Paths: []string{filepath.Join(confd, "*.conf")}}}, testDebounce, testMaxDelay)
	found := func() {
		t.Helper()
		clk.Advance(retryInterval) // the retry finds the directory and marks a burst...
		if err := lnmptest.WaitUntil(deadline, "the burst after the retry", func() bool { return clk.armed(testDebounce) }); err != nil {
			t.Fatal(err)
		}
		clk.Advance(testDebounce) // ...which ends
		h.expect("glob")
	}

	mkdir(t, confd)
	write(t, filepath.Join(confd, "a.conf"), "a1")
	h.sync()
	h.expectNone()
	found()
	// Now watched directly: reported with no retry due.
	replace(t, filepath.Join(confd, "a.conf"), "a2")
	h.sync()
	clk.Advance(testDebounce)
	h.expect("glob")

	// Parent and directory removed again, then back.
	if err := os.RemoveAll(filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	h.sync()
	clk.Advance(testDebounce)
	h.expect("glob")
	mkdir(t, confd)
	write(t, filepath.Join(confd, "a.conf"), "a3")
	h.sync()
	found()
}

// Paths that do not exist at start: a file and a directory, watched through
// their parent; what appears later counts as a change.
func TestMissingAtStart(t *testing.T) {
	root := t.TempDir()
	main, confd := filepath.Join(root, "nginx.conf"), filepath.Join(root, "conf.d")
	h := start(t, []Group{
		{Name: "file", Paths: []string{main}},
		{Name: "dir", Paths: []string{confd}},
	}, testDebounce, testMaxDelay)

	write(t, main, "main")
	h.expect("file")

	// Its creation and its first file may be one Change or two.
	mkdir(t, confd)
	write(t, filepath.Join(confd, "a.conf"), "a1")
	h.collect("dir", mustHash(t, h.w, "dir"))
	// The directory now has its own watch.
	replace(t, filepath.Join(confd, "b.conf"), "b1")
	h.expect("dir")
	rm(t, filepath.Join(confd, "a.conf"))
	h.expect("dir")
}

func mustHash(t *testing.T, w *Watcher, group string) string {
	t.Helper()
	sum, err := w.groupHash(group)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

package lnmptest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// layout returns dir's entries as name -> link target ("" for non-links).
func layout(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		got[e.Name()] = target
	}
	return got
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func checkLayout(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	got := layout(t, dir)
	ts := got[atomicDataLink]
	tsDirName := regexp.MustCompile(`^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$`)
	if !tsDirName.MatchString(ts) {
		t.Fatalf("..data -> %q, want a hidden timestamp dir", ts)
	}
	want := map[string]string{atomicDataLink: ts, ts: ""}
	for name, text := range files {
		want[name] = filepath.Join(atomicDataLink, name)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != text {
			t.Errorf("%s = %q, %v; want %q", name, b, err, text)
		}
		fi, err := os.Stat(filepath.Join(dir, ts, name))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s/%s: %v, mode %v; want 0644", ts, name, err, fi.Mode().Perm())
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("layout = %v, want %v", got, want)
	}
}

func TestWriteAtomicLayout(t *testing.T) {
	dir := t.TempDir()
	first := map[string]string{"a.conf": "a1\n", "b.conf": "b1\n"}
	if err := WriteAtomic(dir, first); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, dir, first)
	linkA := inode(t, filepath.Join(dir, "a.conf"))
	oldTS := layout(t, dir)[atomicDataLink]

	// Same content: the kubelet leaves the volume alone.
	if err := WriteAtomic(dir, first); err != nil {
		t.Fatal(err)
	}
	if ts := layout(t, dir)[atomicDataLink]; ts != oldTS {
		t.Errorf("unchanged write swapped ..data to %s", ts)
	}

	second := map[string]string{"a.conf": "a2\n", "c.conf": "c2\n"}
	if err := WriteAtomic(dir, second); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, dir, second)
	if inode(t, filepath.Join(dir, "a.conf")) != linkA {
		t.Error("a.conf's visible link was recreated; the kubelet keeps it")
	}
	if _, err := os.Lstat(filepath.Join(dir, oldTS)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old data dir %s still there: %v", oldTS, err)
	}
}

func TestWriteAtomicRejects(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..data", "..x", "sub/file"} {
		if err := WriteAtomic(dir, map[string]string{name: "x"}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.conf"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(dir, map[string]string{"plain.conf": "y"}); err == nil {
		t.Error("a regular file in the way was silently shadowed")
	}
	if err := WriteAtomic(dir, map[string]string{"other.conf": "y"}); err != nil {
		t.Errorf("a foreign file not in the payload blocked the write: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "plain.conf")); string(b) != "x" {
		t.Errorf("foreign file changed to %q", b)
	}
}

// TestWriteAtomicReaders checks that a reader sees one whole version of a
// file, never a mix or a truncation, however the swaps interleave with it.
func TestWriteAtomicReaders(t *testing.T) {
	dir := t.TempDir()
	version := func(n int) map[string]string {
		v := strings.Repeat(fmt.Sprintf("v%d|", n), 2000)
		return map[string]string{"a.conf": v, "b.conf": v}
	}
	if err := WriteAtomic(dir, version(0)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads, vanished atomic.Int64
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				b, err := os.ReadFile(filepath.Join(dir, "a.conf"))
				if errors.Is(err, os.ErrNotExist) {
					// The old hidden dir can go between resolving ..data
					// and opening the file in it; the kubelet has the same
					// window. A retry sees the new version.
					vanished.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				reads.Add(1)
				s := string(b)
				first, _, _ := strings.Cut(s, "|")
				if s != strings.Repeat(first+"|", 2000) {
					t.Errorf("read a mixed or partial file (%d bytes, starts %q)", len(s), s[:min(len(s), 20)])
					return
				}
			}
		}()
	}
	for n := 1; n <= 300; n++ {
		if err := WriteAtomic(dir, version(n)); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	checkLayout(t, dir, version(300))
	t.Logf("%d complete reads, %d ENOENT retries during 300 swaps", reads.Load(), vanished.Load())
}

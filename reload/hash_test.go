package reload

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*.conf", "a.conf", true},
		{"*.conf", ".a.conf", false}, // glob(3): no wildcard matches a leading dot
		{"*.conf", ".#a.conf", false},
		{"*.conf", "..data", false},
		{"*", "..data", false},
		{".*.conf", ".a.conf", true},
		{"*.conf", "a.conf~", false},
		{"www.con[f]", "www.conf", true},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestNewWatcherRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		groups []Group
		want   string
	}{
		{nil, "no config groups"},
		{[]Group{{Name: "", Paths: []string{dir}}}, "has no name"},
		{[]Group{{Name: "a", Paths: []string{dir}}, {Name: "a", Paths: []string{dir}}}, `"a" is given twice`},
		{[]Group{{Name: "a"}}, "has no paths"},
		{[]Group{{Name: "a", Paths: []string{"conf.d/*.conf"}}}, "must be absolute"},
		{[]Group{{Name: "a", Paths: []string{dir + "/*/x.conf"}}}, "last element only"},
		{[]Group{{Name: "a", Paths: []string{dir + "/[.conf"}}}, "syntax error in pattern"},
		{[]Group{{Name: "a", Paths: []string{"/"}}}, "root directory"},
	} {
		w, err := NewWatcher(tc.groups, time.Second, time.Second, nil)
		if err == nil {
			w.fsw.Close()
			t.Errorf("NewWatcher(%v) succeeded, want an error with %q", tc.groups, tc.want)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWatcher(%v) = %v, want an error with %q", tc.groups, err, tc.want)
		}
	}
	if _, err := NewWatcher([]Group{{Name: "a", Paths: []string{dir}}}, 0, time.Second, nil); err == nil {
		t.Error("NewWatcher with debounce 0 succeeded")
	}
}

// hashOf hashes a one-group watcher built on paths.
func hashOf(t *testing.T, paths ...string) string {
	t.Helper()
	gs, err := parseGroups([]Group{{Name: "g", Paths: paths}})
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := hashGroup(gs[0])
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestHashContentOnly(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "a.conf")
	write(t, main, "v1")
	glob, plain := filepath.Join(dir, "*.conf"), dir
	before := []string{hashOf(t, main), hashOf(t, glob), hashOf(t, plain)}
	same := func(what string) {
		t.Helper()
		for i, p := range []string{main, glob, plain} {
			if got := hashOf(t, p); got != before[i] {
				t.Errorf("%s changed the hash of %s", what, p)
			}
		}
	}
	must(t, os.Chmod(main, 0o600))
	must(t, os.Chtimes(main, time.Now(), time.Now().Add(-time.Hour)))
	same("chmod and chtimes")
	write(t, filepath.Join(dir, ".a.conf.swp"), "swap")
	write(t, filepath.Join(dir, "a.conf~"), "backup")
	mkdir(t, filepath.Join(dir, "sub"))
	same("hidden, backup and subdirectory entries")
	// A symlink is followed: same content through a link, same hash.
	must(t, os.Rename(main, filepath.Join(dir, ".real")))
	must(t, os.Symlink(".real", main))
	same("a symlink to the same content")

	write(t, filepath.Join(dir, ".real"), "v2")
	for i, p := range []string{main, glob, plain} {
		if hashOf(t, p) == before[i] {
			t.Errorf("new content behind the symlink left the hash of %s alone", p)
		}
	}
}

func TestHashGlobEntries(t *testing.T) {
	dir := t.TempDir()
	glob := filepath.Join(dir, "*.conf")
	empty := hashOf(t, glob)
	write(t, filepath.Join(dir, "a.conf"), "")
	withEmpty := hashOf(t, glob)
	if withEmpty == empty {
		t.Error("an empty matching file left the hash alone")
	}
	// A name is part of the content: a.conf renamed to b.conf differs.
	must(t, os.Rename(filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")))
	if hashOf(t, glob) == withEmpty {
		t.Error("renaming a match left the hash alone")
	}
	// Matches nginx would choke on still count; a FIFO is not read.
	renamed := hashOf(t, glob)
	must(t, os.Symlink("nowhere", filepath.Join(dir, "dangling.conf")))
	if hashOf(t, glob) == renamed {
		t.Error("a dangling matching link left the hash alone")
	}
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo.conf"), 0o644))
	hashOf(t, glob) // returns: the FIFO is not opened

	later := filepath.Join(t.TempDir(), "later")
	missing := hashOf(t, filepath.Join(later, "*.conf"))
	mkdir(t, later)
	if hashOf(t, filepath.Join(later, "*.conf")) == missing {
		t.Error("a missing directory hashes like an empty one")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestHashUnknownGroup(t *testing.T) {
	h := start(t, []Group{{Name: "g", Paths: []string{filepath.Join(t.TempDir(), "x")}}}, testDebounce, testMaxDelay)
	if _, err := h.w.groupHash("nope"); err == nil {
		t.Error("Hash of an unknown group succeeded")
	}
}

// Which events count for which group, whatever operation they carry: the
// kubelet's swap may arrive as Create, Rename or Write (configmap-reload
// issue 190).
func TestAffected(t *testing.T) {
	root := t.TempDir()
	confd, vol, plain := filepath.Join(root, "conf.d"), filepath.Join(root, "vol"), filepath.Join(root, "etc")
	writeAtomic(t, vol, map[string]string{"nginx.conf": "x"})
	mkdir(t, plain)
	must(t, os.Symlink("nginx.prod", filepath.Join(plain, "nginx.conf")))
	w, err := NewWatcher([]Group{
		{Name: "glob", Paths: []string{filepath.Join(confd, "*.conf")}},
		{Name: "file", Paths: []string{filepath.Join(vol, "nginx.conf")}},
		{Name: "linked", Paths: []string{filepath.Join(plain, "nginx.conf")}},
	}, time.Second, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.fsw.Close()
	for path, want := range map[string][]int{
		confd + "/a.conf":                        {0},
		confd + "/..data":                        {0},
		confd + "/.a.conf.swp":                   nil,
		confd + "/..data_tmp":                    nil,
		confd + "/..2026_11_22_10_00_00.1234567": nil,
		confd + "/a.conf~":                       nil,
		confd:                                    {0},
		root:                                     {0, 1, 2}, // the parent of every group's directory
		vol + "/..data":                          {1},
		vol + "/other.conf":                      nil,
		plain + "/nginx.prod":                    {2}, // through the symlink
		plain + "/nginx.dev":                     nil,
	} {
		if got := w.affected(path); !slices.Equal(got, want) {
			t.Errorf("affected(%s) = %v, want %v", path, got, want)
		}
	}
	b := newBurst(len(w.groups))
	for _, op := range []fsnotify.Op{fsnotify.Create, fsnotify.Rename, fsnotify.Write, fsnotify.Remove} {
		if !w.handle(fsnotify.Event{Name: vol + "/..data", Op: op}, b) {
			t.Errorf("%v on ..data did not count", op)
		}
	}
	if w.handle(fsnotify.Event{Name: vol + "/nginx.conf", Op: fsnotify.Chmod}, newBurst(len(w.groups))) {
		t.Error("a Chmod-only event counted")
	}
}

func TestSnapshotSeesAChangeBeforeTheWatch(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "a.conf")
	if err := os.WriteFile(conf, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	groups := []Group{{Name: "nginx", Paths: []string{filepath.Join(dir, "*.conf")}}, {Name: "php-fpm", Paths: []string{filepath.Join(dir, "*.ini")}}}
	before, err := Snapshot(groups)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := Snapshot(groups)
	if err != nil {
		t.Fatal(err)
	}
	if got := ChangedBetween(groups, before, after); len(got) != 1 || got[0] != "nginx" {
		t.Fatalf("changed %v, want [nginx]", got)
	}
	if got := ChangedBetween(groups, after, after); len(got) != 0 {
		t.Fatalf("changed %v between identical snapshots", got)
	}
}

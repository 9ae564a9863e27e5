package reload

import (
	"path/filepath"
	"testing"
)

// A ConfigMap mounted as nginx's conf.d: each update is the kubelet's ..data
// swap, which never touches the visible names.
func TestAtomicWriterSwap(t *testing.T) {
	root := t.TempDir()
	confd, fpmd := filepath.Join(root, "conf.d"), filepath.Join(root, "fpm.d")
	writeAtomic(t, confd, map[string]string{"a.conf": "a1", "b.conf": "b1"})
	writeAtomic(t, fpmd, map[string]string{"www.conf": "w1"})
	h := start(t, []Group{
		{Name: "nginx", Paths: []string{filepath.Join(confd, "*.conf")}},
		{Name: "php-fpm", Paths: []string{filepath.Join(fpmd, "*.conf")}},
	}, testDebounce, testMaxDelay)

	writeAtomic(t, confd, map[string]string{"a.conf": "a2", "b.conf": "b1"})
	c := h.next(deadline) // how fast: make bench's reload row
	if len(c.Groups) != 1 || c.Groups[0] != "nginx" {
		t.Fatalf("swap reported groups %q, want [nginx]", c.Groups)
	}
	h.expectNothing() // reported once

	writeAtomic(t, confd, map[string]string{"a.conf": "a2", "b.conf": "b1", "c.conf": "c1"})
	h.expect("nginx")
	writeAtomic(t, confd, map[string]string{"a.conf": "a2", "c.conf": "c1"})
	h.expect("nginx")
	writeAtomic(t, fpmd, map[string]string{"www.conf": "w2"})
	h.expect("php-fpm")
}

// A swap whose content, as the groups see it, is what they had: a key the
// glob does not match, and a swap of identical files (which the kubelet
// itself skips, but a watcher must not depend on that).
func TestAtomicWriterSwapUnchanged(t *testing.T) {
	confd := filepath.Join(t.TempDir(), "conf.d")
	writeAtomic(t, confd, map[string]string{"a.conf": "a1"})
	h := start(t, []Group{
		{Name: "glob", Paths: []string{filepath.Join(confd, "*.conf")}},
		{Name: "file", Paths: []string{filepath.Join(confd, "a.conf")}},
	}, testDebounce, testMaxDelay)

	writeAtomic(t, confd, map[string]string{"a.conf": "a1", "notes.txt": "n1"})
	h.expectNothing()
	swapIdentical(t, confd)
	h.expectNothing()
	writeAtomic(t, confd, map[string]string{"a.conf": "a2", "notes.txt": "n1"})
	h.expect("glob", "file")
}

// A whole ConfigMap volume as one directory group, and one file of it as
// another: the file's content changes through ..data with no event on it.
func TestAtomicWriterFileAndDirectory(t *testing.T) {
	vol := filepath.Join(t.TempDir(), "nginx")
	writeAtomic(t, vol, map[string]string{"nginx.conf": "main1", "mime.types": "m1"})
	h := start(t, []Group{
		{Name: "file", Paths: []string{filepath.Join(vol, "nginx.conf")}},
		{Name: "dir", Paths: []string{vol}},
	}, testDebounce, testMaxDelay)

	writeAtomic(t, vol, map[string]string{"nginx.conf": "main2", "mime.types": "m1"})
	h.expect("file", "dir")
	writeAtomic(t, vol, map[string]string{"nginx.conf": "main2", "mime.types": "m2"})
	h.expect("dir")
	writeAtomic(t, vol, map[string]string{"nginx.conf": "main2"})
	h.expect("dir")
	swapIdentical(t, vol)
	h.expectNothing()
}

package reload

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// hashGroup hashes g's content and also returns its links: paths that are
// none of g's names but that a symlink among them goes through, such as
// the kubelet's "..data", so that an event on one of them counts too.
func hashGroup(g group) (string, map[string]bool, error) {
	h := sha256.New()
	links := make(map[string]bool)
	for _, t := range g.targets {
		if err := t.hash(h, links); err != nil {
			return "", nil, fmt.Errorf("reload: hash config group %q: %w", g.name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), links, nil
}

// hash writes t's content to h: for a glob, its matches in name order, each
// name with its content; for a plain path, the file's content, or a
// directory's regular files (not recursive) with their names. Every record
// is a line with quoted names, so no two different states write the same
// bytes.
func (t target) hash(h hash.Hash, links map[string]bool) error {
	if t.glob != "" {
		fmt.Fprintf(h, "glob %q\n", t.path)
		return hashEntries(h, links, t.dir, t.matches, false)
	}
	fmt.Fprintf(h, "path %q\n", t.path)
	noteLink(links, t.path)
	fi, err := os.Stat(t.path)
	switch {
	case isAbsent(err):
		fmt.Fprintf(h, "absent\n")
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		fmt.Fprintf(h, "directory\n")
		return hashEntries(h, links, t.path, listed, true)
	}
	return hashFile(h, t.path, fi)
}

// hashEntries hashes the entries of dir that keep accepts. A glob writes
// every match, even one that is a directory or a dangling link, because
// nginx's include sees those too and fails on them; a directory given as
// a plain path holds config in its regular files only (regularOnly).
func hashEntries(h hash.Hash, links map[string]bool, dir string, keep func(string) bool, regularOnly bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case isAbsent(err):
		fmt.Fprintf(h, "no directory\n")
		return nil
	case err != nil:
		return err
	}
	for _, e := range entries { // ReadDir sorts by name
		if !keep(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		noteLink(links, p)
		fi, err := os.Stat(p)
		switch {
		case isAbsent(err):
			if !regularOnly {
				fmt.Fprintf(h, "dangling %q\n", e.Name())
			}
		case err != nil:
			return err
		case fi.Mode().IsRegular(), !regularOnly:
			fmt.Fprintf(h, "entry %q\n", e.Name())
			if err := hashFile(h, p, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// hashFile writes the digest of the file at p, which os.Stat described as
// fi. Only regular files are read: opening a FIFO would block the watcher.
func hashFile(h hash.Hash, p string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		fmt.Fprintf(h, "not a regular file: %v\n", fi.Mode().Type())
		return nil
	}
	f, err := os.Open(p)
	if isAbsent(err) {
		// Removed since the Stat; the event of its removal follows.
		fmt.Fprintf(h, "absent\n")
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	fmt.Fprintf(h, "content %x\n", sum.Sum(nil))
	return nil
}

// noteLink records, when p is a symlink, the entry of p's own directory its
// target goes through first ("..data" for the kubelet's "name ->
// ..data/name", "b.conf" for "a.conf -> b.conf"): replacing that entry
// changes p's content with no event on p. Targets outside p's directory
// are not watched.
func noteLink(links map[string]bool, p string) {
	target, err := os.Readlink(p)
	if err != nil {
		return
	}
	dir := filepath.Dir(p)
	if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	rel, err := filepath.Rel(dir, target)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return
	}
	first, _, _ := strings.Cut(rel, "/")
	links[filepath.Join(dir, first)] = true
}

// isAbsent reports whether err means a path, or a directory on the way to
// it, does not exist (ENOTDIR: a component is a file).
func isAbsent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Snapshot hashes every group's content now, by name. Taken before the
// programs read their configs and again once a Watcher watches, it tells
// which groups changed in between, when no watch could see it.
func Snapshot(groups []Group) (map[string]string, error) {
	parsed, err := parseGroups(groups)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(parsed))
	for _, g := range parsed {
		if out[g.name], _, err = hashGroup(g); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ChangedBetween names the groups whose hash differs between two
// snapshots, in the order of groups.
func ChangedBetween(groups []Group, before, after map[string]string) []string {
	var out []string
	for _, g := range groups {
		if before[g.Name] != after[g.Name] {
			out = append(out, g.Name)
		}
	}
	return out
}

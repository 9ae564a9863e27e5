package reload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// wantedDirs returns every directory Run should hold a watch on: the one
// holding each path's content (a glob's or a file's directory, or a plain
// path that currently is a directory), and that one's parent, whose watch
// sees it removed and created again, after which its own watch, dead with
// its inode, must be added anew.
func (w *Watcher) wantedDirs() []string {
	seen := make(map[string]bool)
	var dirs []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, g := range w.groups {
		for _, t := range g.targets {
			holder := t.dir
			if fi, err := os.Stat(t.path); err == nil && fi.IsDir() && t.glob == "" {
				holder = t.path
			}
			add(holder)
			add(filepath.Dir(holder))
		}
	}
	return dirs
}

// isWanted reports whether path may be one of wantedDirs, without the
// Stat that deciding for a plain path would take.
func (w *Watcher) isWanted(path string) bool {
	for _, g := range w.groups {
		for _, t := range g.targets {
			if path == t.dir || path == filepath.Dir(t.dir) || (t.glob == "" && path == t.path) {
				return true
			}
		}
	}
	return false
}

// addWatch watches directory d, and only a directory: a watch on a file
// would die at the file's next rename-over.
func (w *Watcher) addWatch(d string) error {
	fi, err := os.Stat(d)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: "watch", Path: d, Err: syscall.ENOTDIR}
	}
	if err := w.fsw.Add(d); err != nil {
		return fmt.Errorf("reload: watch %s: %w", d, err)
	}
	return nil
}

// reconcile adds a watch on each wanted directory fsnotify does not list,
// or on every one when force is set (after lost events a path may name a
// new inode that its listed watch does not see), and drops the watches no
// longer wanted. It returns the directories that gained a watch, and the
// errors other than a directory's absence. It sets w.poll when a missing
// directory's parent is not watched either, or an error may pass: then no
// event will say when to try again.
func (w *Watcher) reconcile(force bool) ([]string, error) {
	wanted := w.wantedDirs()
	have := w.dropUnwanted(wanted)
	var added, missing []string
	var errs []error
	for _, d := range wanted {
		if have[d] && !force {
			continue
		}
		switch err := w.addWatch(d); {
		case err == nil:
			if !have[d] {
				added = append(added, d)
			}
		case isAbsent(err):
			missing = append(missing, d)
		default:
			errs = append(errs, err)
		}
	}
	now := make(map[string]bool)
	for _, p := range w.fsw.WatchList() {
		now[p] = true
	}
	w.poll = len(errs) > 0
	for _, d := range missing {
		if !now[filepath.Dir(d)] {
			w.poll = true
		}
	}
	return added, errors.Join(errs...)
}

// dropUnwanted removes the watches on directories not in wanted, such as
// the parent of a file's directory once the path turned out to be a
// directory itself, and returns the directories still watched.
func (w *Watcher) dropUnwanted(wanted []string) map[string]bool {
	have := make(map[string]bool)
	for _, p := range w.fsw.WatchList() {
		if slices.Contains(wanted, p) {
			have[p] = true
			continue
		}
		// ErrNonExistentWatch: fsnotify dropped it already, its inode gone.
		if err := w.fsw.Remove(p); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
			w.log.Debug("cannot drop watch", zap.String("dir", p), zap.Error(err))
		}
	}
	return have
}

// reconcileLogged is reconcile for Run, which cannot stop on an error: it
// logs it and retries each second.
func (w *Watcher) reconcileLogged() []string {
	added, err := w.reconcile(false)
	if err != nil {
		w.warnWatch(err)
	}
	return added
}

// warnWatch logs an error adding a watch once, not at every retry.
func (w *Watcher) warnWatch(err error) {
	if err.Error() == w.watchErr {
		return
	}
	w.watchErr = err.Error()
	w.log.Warn("cannot watch config directory; retrying each second", zap.Error(err))
}

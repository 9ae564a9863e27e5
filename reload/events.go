package reload

import (
	"errors"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// burst collects what happened since the last report: which groups may
// have changed, and which paths had events.
type burst struct {
	dirty []bool
	paths map[string]bool
	start time.Time // first event of the burst; zero between bursts
}

func newBurst(groups int) *burst {
	return &burst{dirty: make([]bool, groups), paths: make(map[string]bool)}
}

// mark records that group gi may have changed through path ("" when the
// cause is not a path, e.g. lost events).
func (b *burst) mark(gi int, path string, now time.Time) {
	if b.start.IsZero() {
		b.start = now
	}
	b.dirty[gi] = true
	if path != "" {
		b.paths[path] = true
	}
}

// wait returns how long to wait for the burst to go quiet: the debounce,
// cut short so that the report comes at most maxDelay after the burst's
// first event even if events never stop.
func (b *burst) wait(now time.Time, debounce, maxDelay time.Duration) time.Duration {
	return max(0, min(debounce, b.start.Add(maxDelay).Sub(now)))
}

func (b *burst) reset() {
	clear(b.dirty)
	clear(b.paths)
	b.start = time.Time{}
}

// handle takes one fsnotify event: it re-adds a watch when the event is a
// watched directory coming back, and marks the groups whose content the
// event can change. It reports whether it marked any.
func (w *Watcher) handle(ev fsnotify.Event, b *burst) bool {
	w.log.Debug("file event", zap.String("path", ev.Name), zap.String("op", ev.Op.String()))
	// Chmod alone changes no content; Linux also sends it for every unlink,
	// ahead of the Remove that matters.
	if ev.Op&^fsnotify.Chmod == 0 {
		return false
	}
	now := w.clock.Now()
	marked := false
	if ev.Has(fsnotify.Create|fsnotify.Remove|fsnotify.Rename) && w.isWanted(ev.Name) {
		if ev.Has(fsnotify.Create) {
			// Even if fsnotify still lists the path, its watch may be on
			// the inode that was just removed; adding it again moves it
			// to the new one.
			if err := w.addWatch(ev.Name); err != nil && !isAbsent(err) {
				w.warnWatch(err)
			}
		}
		marked = w.markAdded(w.reconcileLogged(), b, now)
	}
	for _, gi := range w.affected(ev.Name) {
		b.mark(gi, ev.Name, now)
		marked = true
	}
	return marked
}

// handleError logs an error from fsnotify. An overflow means the kernel
// dropped events, a directory's removal and return maybe among them, so
// every watch is renewed and every group hashed again.
func (w *Watcher) handleError(err error, b *burst) bool {
	w.log.Warn("file watch error", zap.Error(err))
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		return false
	}
	if _, err := w.reconcile(true); err != nil {
		w.warnWatch(err)
	}
	now := w.clock.Now()
	for gi := range w.groups {
		b.mark(gi, "", now)
	}
	return true
}

// rewatch retries the watches that no event can restore.
func (w *Watcher) rewatch(b *burst) bool {
	return w.markAdded(w.reconcileLogged(), b, w.clock.Now())
}

// markAdded marks the groups whose directories just gained a watch: their
// content may have arrived before the watch did. It reports whether it
// marked any.
func (w *Watcher) markAdded(dirs []string, b *burst, now time.Time) bool {
	marked := false
	for _, d := range dirs {
		w.log.Debug("watching directory", zap.String("dir", d))
		for _, gi := range w.affected(d) {
			b.mark(gi, d, now)
			marked = true
		}
	}
	return marked
}

// affected returns the indices of the groups an event on path can change.
func (w *Watcher) affected(path string) []int {
	dir, name := filepath.Dir(path), filepath.Base(path)
	var hit []int
	for gi, g := range w.groups {
		if w.links[gi][path] || slices.ContainsFunc(g.targets, func(t target) bool { return t.covers(path, dir, name) }) {
			hit = append(hit, gi)
		}
	}
	return hit
}

// flush ends a burst: it hashes the groups the burst marked and returns a
// Change of those whose hash differs from the last one reported, and
// whether there is any.
func (w *Watcher) flush(b *burst) (Change, bool) {
	defer b.reset()
	// A directory may have come back with no event left to say so.
	w.markAdded(w.reconcileLogged(), b, w.clock.Now())
	ch := Change{Hashes: make(map[string]string)}
	var same []string
	for gi, g := range w.groups {
		if !b.dirty[gi] {
			continue
		}
		sum, links, err := hashGroup(g)
		if err != nil {
			// Reported when a later event finds it readable. A chmod that
			// makes it readable is not such an event: Chmod never counts.
			w.log.Warn("cannot read config group; change not reported", zap.Error(err))
			continue
		}
		w.links[gi] = links
		if sum == w.last[gi] {
			same = append(same, g.name)
			continue
		}
		w.last[gi] = sum
		ch.Groups = append(ch.Groups, g.name)
		ch.Hashes[g.name] = sum
	}
	for p := range b.paths {
		ch.Paths = append(ch.Paths, p)
	}
	slices.Sort(ch.Paths)
	w.log.Debug("burst ended", zap.Strings("changed", ch.Groups), zap.Strings("unchanged", same),
		zap.Strings("paths", ch.Paths))
	return ch, len(ch.Groups) > 0
}

// merge folds c into the Change still waiting to be sent, if any.
func (w *Watcher) merge(pending *Change, c Change) *Change {
	if pending == nil {
		return &c
	}
	m := Change{Hashes: pending.Hashes}
	for _, g := range w.groups {
		if h, ok := c.Hashes[g.name]; ok {
			m.Hashes[g.name] = h
		}
		if _, ok := m.Hashes[g.name]; ok {
			m.Groups = append(m.Groups, g.name)
		}
	}
	m.Paths = append(pending.Paths, c.Paths...)
	slices.Sort(m.Paths)
	m.Paths = slices.Compact(m.Paths)
	return &m
}

package reload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// retryInterval is how often Run looks for a watched directory that is
// missing together with its parent, so that no watch can announce it.
const retryInterval = time.Second

// Change reports which groups' content really changed (by hash) after a
// debounced burst of file events, and which paths had events.
type Change struct {
	// Groups are the names of the changed groups, in the order given to
	// NewWatcher.
	Groups []string
	// Paths are the paths that had events, deduplicated and sorted, for
	// the log.
	Paths []string
	// Hashes holds, for each name in Groups, the content hash that made it
	// count as changed: what the group's files held then.
	Hashes map[string]string
}

// Watcher decides when a group of config files has really changed. It
// watches directories, never single files, because a file's watch dies
// with its inode, which the kubelet's swap and editors' rename-over both
// replace. NewWatcher sets it up, Run reports the changes.
type Watcher struct {
	groups   []group
	debounce time.Duration
	maxDelay time.Duration
	log      *zap.Logger
	fsw      *fsnotify.Watcher
	clock    clock

	// The rest belongs to NewWatcher until Run starts, then to Run's
	// goroutine alone.
	last     []string          // per group: hash last reported, or the baseline
	links    []map[string]bool // per group: paths its symlinks go through (see hashGroup)
	poll     bool              // a wanted directory may come back unannounced
	watchErr string            // last error adding a watch, logged once
}

// NewWatcher sets up watches and takes the baseline hash of every group.
// debounce is the quiet time that ends a burst of events; maxDelay bounds
// how long a continuous burst can postpone a report. Paths that do not
// exist yet are watched through their parent directory. It fails when a
// path is malformed, or when a directory that exists cannot be watched
// (e.g. the fs.inotify.max_user_watches limit): reloads would silently
// never happen.
func NewWatcher(groups []Group, debounce, maxDelay time.Duration, log *zap.Logger) (*Watcher, error) {
	if debounce <= 0 || maxDelay <= 0 {
		return nil, fmt.Errorf("reload: debounce and max delay must be > 0, got %v and %v", debounce, maxDelay)
	}
	parsed, err := parseGroups(groups)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("reload: start inotify: %w", err)
	}
	w := &Watcher{
		groups: parsed, debounce: debounce, maxDelay: maxDelay, log: log, fsw: fsw, clock: realClock{},
		last:  make([]string, len(parsed)),
		links: make([]map[string]bool, len(parsed)),
	}
	// Watches first, baseline second: a change in between is then an event
	// compared against the baseline, not a change nobody saw.
	if _, err := w.reconcile(false); err != nil {
		fsw.Close()
		return nil, err
	}
	for i, g := range w.groups {
		if w.last[i], w.links[i], err = hashGroup(g); err != nil {
			fsw.Close()
			return nil, fmt.Errorf("%w (baseline)", err)
		}
	}
	log.Debug("watching config", zap.Strings("directories", fsw.WatchList()), zap.Bool("polling", w.poll))
	return w, nil
}

// Run reports changes on out until ctx ends, and then returns nil; it
// returns an error only if inotify stops delivering events. It never
// reports a group whose content hash is unchanged. It keeps reading events
// while out is not read: later changes merge into the Change waiting to be
// sent, so a slow reader gets one Change covering everything since it last
// read. Run releases the watches when it returns; call it once.
func (w *Watcher) Run(ctx context.Context, out chan<- Change) error {
	defer w.fsw.Close()
	b := newBurst(len(w.groups))
	var pending *Change
	var debounced, retry <-chan time.Time // nil: not armed
	for {
		var send chan<- Change
		var next Change
		if pending != nil {
			send, next = out, *pending
		}
		switch {
		case !w.poll:
			retry = nil
		case retry == nil:
			retry = w.clock.After(retryInterval)
		}
		marked := false
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return errors.New("reload: inotify events channel closed")
			}
			marked = w.handle(ev, b)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return errors.New("reload: inotify errors channel closed")
			}
			marked = w.handleError(err, b)
		case <-retry:
			retry = nil
			marked = w.rewatch(b)
		case <-debounced:
			debounced = nil
			if ch, ok := w.flush(b); ok {
				pending = w.merge(pending, ch)
			}
		case send <- next:
			pending = nil
		}
		if marked {
			debounced = w.clock.After(b.wait(w.clock.Now(), w.debounce, w.maxDelay))
		}
	}
}

// The debounce lnmp-init watches with: Debounce is the quiet time that ends
// a burst of file events; MaxDelay bounds how long a burst that never goes
// quiet can postpone a reload.
const (
	Debounce = 200 * time.Millisecond
	MaxDelay = time.Second
)

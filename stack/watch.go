package stack

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/reload"
)

// WatchGroups is what each program reloads on: its config files and
// include patterns, php-fpm also its php.ini file and scan directories, and
// each --watch path for the program whose config names it, or for both.
func (st *Stack) WatchGroups(iniFile string, scanDirs []string) []reload.Group {
	var groups []reload.Group
	if fpmCfg := st.fpmConfig(); fpmCfg != nil {
		fpm := reload.Group{Name: "php-fpm", Paths: append(slices.Clone(fpmCfg.Files), fpmCfg.Includes...)}
		if iniFile != "" {
			fpm.Paths = append(fpm.Paths, iniFile)
		}
		fpm.Paths = append(fpm.Paths, scanDirs...)
		groups = append(groups, fpm)
	}
	if ngxCfg := st.nginxConfig(); ngxCfg != nil {
		groups = append(groups, reload.Group{Name: "nginx", Paths: append(slices.Clone(ngxCfg.Files), ngxCfg.Includes...)})
	}
	// A --watch path reloads the servers whose config names it, or all.
	for _, w := range st.opts.Watch {
		w = filepath.Clean(w)
		var named []int
		for i, g := range groups {
			if namedBy(g.Paths, w) {
				named = append(named, i)
			}
		}
		if len(named) == 0 {
			for i := range groups {
				named = append(named, i)
			}
		}
		for _, i := range named {
			groups[i].Paths = append(groups[i].Paths, w)
		}
	}
	for i := range groups {
		groups[i] = dedup(groups[i])
	}
	return groups
}

// namedBy reports whether path is one of a group's paths, matches one of
// them as a glob, or is the directory a glob or file of them lives in.
func namedBy(paths []string, path string) bool {
	for _, p := range paths {
		if ok, _ := filepath.Match(p, path); ok || p == path || filepath.Dir(p) == path {
			return true
		}
	}
	return false
}

func dedup(g reload.Group) reload.Group {
	slices.Sort(g.Paths)
	g.Paths = slices.Compact(g.Paths)
	return g
}

// Baseline is what the configs held just before php-fpm and nginx read
// them.
type Baseline struct {
	hashes map[string]string
	at     time.Time
}

// Baseline hashes the config groups php-fpm and nginx are about to read.
// Take it before they start; Watch compares it with what it sees once its
// watches are in place, so a change made in between is reloaded too.
func (st *Stack) Baseline(log *zap.Logger) Baseline {
	b := Baseline{at: time.Now()}
	var err error
	if b.hashes, err = reload.Snapshot(st.WatchGroups("", nil)); err != nil {
		log.Warn("cannot hash the configs", zap.Error(err))
	}
	return b
}

// missed names the groups that changed since the baseline, as far as it
// can tell: by content for the files the baseline knew, and for php.ini and
// its scan directories, which php-fpm -i names only later, by a change
// time after the baseline (a change php-fpm may not have read).
func (b Baseline) missed(groups []reload.Group, iniPaths []string) []string {
	early := groups
	var missed []string
	if now, err := reload.Snapshot(early); err == nil && b.hashes != nil {
		missed = reload.ChangedBetween(early, b.hashes, now)
	}
	if !slices.Contains(missed, "php-fpm") && changedSince(iniPaths, b.at) {
		missed = append([]string{"php-fpm"}, missed...)
	}
	return missed
}

// ctimeMargin is how far behind the clock an inode's change time may be.
const ctimeMargin = 20 * time.Millisecond

// changedSince reports whether any of paths, or an entry of one that is a
// directory, has a change time (content, rename into place, the kubelet's
// swap) at or after t.
func changedSince(paths []string, t time.Time) bool {
	for _, p := range paths {
		files := []string{p}
		if entries, err := os.ReadDir(p); err == nil {
			files = files[:0]
			for _, e := range entries {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
		for _, f := range files {
			var st unix.Stat_t
			// Inode times come from a coarse clock, a few milliseconds
			// behind: a margin keeps a change right after t from
			// looking older.
			if unix.Stat(f, &st) == nil && !time.Unix(st.Ctim.Unix()).Before(t.Add(-ctimeMargin)) {
				return true
			}
		}
	}
	return false
}

// Watch watches every config group and sends a Change on changes for each
// one whose content really changed, until ctx ends. It sets up in the
// background: php-fpm -i, which finds php.ini, takes tens of milliseconds
// and is kept off the start path.
func (st *Stack) Watch(ctx context.Context, log *zap.Logger, baseline Baseline, changes chan<- reload.Change) {
	var iniFile string
	var scanDirs []string
	if st.FPM != nil {
		var err error
		if iniFile, scanDirs, err = st.FPM.IniPaths(ctx); err != nil {
			log.Warn("cannot find php.ini paths; they are not watched", zap.Error(err))
		}
	}
	groups := st.WatchGroups(iniFile, scanDirs)
	warnSubPaths(log, groups)
	w, err := reload.NewWatcher(groups, reload.Debounce, reload.MaxDelay, log)
	if err != nil {
		log.Error("cannot watch the configs; hot reload is off, SIGHUP still reloads", zap.Error(err))
		return
	}
	iniPaths := scanDirs
	if iniFile != "" {
		iniPaths = append([]string{iniFile}, scanDirs...)
	}
	missed := baseline.missed(st.WatchGroups("", nil), iniPaths)
	if st.FPM != nil && len(iniPaths) > 0 {
		// What php-fpm read at its start, unless a change came since.
		if err := st.FPM.KnowIni(iniFile, scanDirs, slices.Contains(missed, "php-fpm")); err != nil {
			log.Warn("cannot read php.ini; a crash after a refused php.ini change restarts from the files on disk", zap.Error(err))
		}
	}
	for _, g := range groups {
		log.Info("watching for config changes", zap.String("child", g.Name), zap.Strings("paths", g.Paths))
	}
	if len(missed) > 0 {
		log.Info("configs changed while lnmp-init started; reloading", zap.Strings("children", missed))
		select {
		case changes <- reload.Change{Groups: missed}:
		case <-ctx.Done():
			return
		}
	}
	if err := w.Run(ctx, changes); err != nil {
		log.Error("config watcher stopped; hot reload is off, SIGHUP still reloads", zap.Error(err))
	}
}

// warnSubPaths warns once for each watched file that is a mount of its own.
func warnSubPaths(log *zap.Logger, groups []reload.Group) {
	var files []string
	for _, g := range groups {
		files = append(files, g.Paths...)
	}
	mounted, err := reload.SubPathMounts("/proc/self/mountinfo", files)
	if err != nil {
		log.Debug("cannot read mounts", zap.Error(err))
	}
	for _, f := range slices.Compact(mounted) {
		log.Warn("config file is mounted on its own (a Kubernetes subPath mount): the kubelet never updates it, so it will not hot-reload; mount the ConfigMap as a directory instead",
			zap.String("file", f))
	}
}

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/reload"
	"github.com/lnmp-init/lnmp-init/signals"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

const (
	// reloadDebounce is the quiet time that ends a burst of file events;
	// reloadMaxDelay bounds how long a burst can postpone a reload.
	reloadDebounce = 200 * time.Millisecond
	reloadMaxDelay = time.Second
	// settlePoll is how often a reload checks that the new config serves.
	settlePoll = 20 * time.Millisecond
)

// runner runs a command to its end and returns its combined output.
type runner func(*exec.Cmd) ([]byte, error)

// watchGroups is what each program reloads on: its config files and
// include patterns, php-fpm also its php.ini files, and each --watch path
// for the program whose config covers it, or for both.
func watchGroups(set *settings, st *stack, iniFile string, scanDirs []string) []reload.Group {
	fpm := reload.Group{Name: "php-fpm", Paths: append(slices.Clone(st.fpm.Files), st.fpm.Includes...)}
	if iniFile != "" {
		fpm.Paths = append(fpm.Paths, iniFile)
	}
	fpm.Paths = append(fpm.Paths, scanDirs...)
	ngx := reload.Group{Name: "nginx", Paths: append(slices.Clone(st.nginx.Files), st.nginx.Includes...)}
	for _, w := range set.Watch {
		w = filepath.Clean(w)
		inFpm, inNginx := covers(fpm.Paths, w), covers(ngx.Paths, w)
		if inFpm || !inNginx {
			fpm.Paths = append(fpm.Paths, w)
		}
		if inNginx || !inFpm {
			ngx.Paths = append(ngx.Paths, w)
		}
	}
	return []reload.Group{dedup(fpm), dedup(ngx)}
}

// covers reports whether path is one of paths, matches one of them as a
// glob, or is the directory a glob or file of them lives in.
func covers(paths []string, path string) bool {
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

// livePools holds the php-fpm pools of the config in force: /readyz pings
// them, and a reload that changes them replaces them.
type livePools struct{ p atomic.Pointer[[]phpfpm.Pool] }

func newLivePools(pools []phpfpm.Pool) *livePools {
	l := &livePools{}
	l.p.Store(&pools)
	return l
}

func (l *livePools) get() []phpfpm.Pool { return *l.p.Load() }

func (l *livePools) set(pools []phpfpm.Pool) { l.p.Store(&pools) }

// startReload sets up hot reload in the background: the watcher, the
// reloader, the subPath warning. SIGHUP works even when the watcher cannot.
func startReload(ctx context.Context, bg *sync.WaitGroup, log *zap.Logger, set *settings, st *stack,
	sup *supervisor.Supervisor, pools *livePools, run runner, asks <-chan struct{}, done func(child, result string, at time.Time)) {
	changes := make(chan reload.Change)
	r := &reload.Reloader{Targets: reloadTargets(log, st, sup, pools, run), Signaller: sup, Log: log, Done: done,
		Stopping: func() bool { return sup.Status().Draining }, NotReady: supervisor.ErrNotReady}
	bg.Go(func() { r.Run(ctx, changes, asks) })
	if !set.HotReload {
		log.Info("hot reload is off (--hot-reload=false); SIGHUP still reloads")
		return
	}
	// Hashed now, before the children read their configs, and again once
	// the watches are in place: a change in between is reloaded too.
	early := watchGroups(set, st, "", nil)
	before, err := reload.Snapshot(early)
	if err != nil {
		log.Warn("cannot hash the configs", zap.Error(err))
	}
	bg.Go(func() {
		// php-fpm -i takes tens of milliseconds: not on the start path.
		iniFile, scanDirs, err := phpfpm.IniPaths(run, st.fpmBin)
		if err != nil {
			log.Warn("cannot find php.ini paths; they are not watched", zap.Error(err))
		}
		groups := watchGroups(set, st, iniFile, scanDirs)
		warnSubPaths(log, groups)
		w, err := reload.NewWatcher(groups, reloadDebounce, reloadMaxDelay, log)
		if err != nil {
			log.Error("cannot watch the configs; hot reload is off, SIGHUP still reloads", zap.Error(err))
			return
		}
		for _, g := range groups {
			log.Info("watching for config changes", zap.String("child", g.Name), zap.Strings("paths", g.Paths))
		}
		if after, err := reload.Snapshot(early); err == nil && before != nil {
			if missed := reload.ChangedBetween(early, before, after); len(missed) > 0 {
				log.Info("configs changed while lnmp-init started; reloading", zap.Strings("children", missed))
				select {
				case changes <- reload.Change{Groups: missed}:
				case <-ctx.Done():
					return
				}
			}
		}
		if err := w.Run(ctx, changes); err != nil {
			log.Error("config watcher stopped; hot reload is off, SIGHUP still reloads", zap.Error(err))
		}
	})
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

// reloadTargets says how to validate each program and how to tell that it
// serves its new config. Once it does, what lnmp-init takes from that
// config (php-fpm's pools, both stop bounds) follows it.
func reloadTargets(log *zap.Logger, st *stack, sup *supervisor.Supervisor, pools *livePools, run runner) []reload.Target {
	return []reload.Target{{
		Name:     "php-fpm",
		Validate: func(context.Context) error { return phpfpm.Validate(run, st.fpmBin, st.fpm.Path) },
		// SIGUSR2 makes the master stop its workers gracefully, then
		// re-execute itself and start new ones. Until the old workers are
		// gone one of them may still answer, so a ping alone proves nothing.
		Prepare: func() func(context.Context) error {
			old := signals.Children(childPid(sup, "php-fpm"))
			next, err := phpfpm.Load(st.fpm.Path, phpfpm.Prefix(st.fpmBin))
			if err != nil {
				log.Warn("cannot read the new php-fpm config; keeping the pools known", zap.Error(err))
				next = &phpfpm.Config{Pools: pools.get(), ProcessControlTimeout: st.fpm.ProcessControlTimeout}
			}
			return func(ctx context.Context) error {
				if err := poll(ctx, "php-fpm's new workers to answer", func() bool {
					return allGone(old) && pingAll(ctx, next.Pools) == nil
				}); err != nil {
					return err
				}
				pools.set(next.Pools)
				sup.SetStopBound("php-fpm", next.StopBound())
				return nil
			}
		},
		// USR2 waits for the old workers up to process_control_timeout.
		Timeout: st.fpm.ProcessControlTimeout + 10*time.Second,
	}, {
		Name:     "nginx",
		Validate: func(context.Context) error { return nginx.Validate(run, st.nginxBin, st.nginx) },
		// On SIGHUP the master starts workers with the new config; when
		// nginx itself rejects it, no new worker ever appears.
		Prepare: func() func(context.Context) error {
			master := childPid(sup, "nginx")
			old := signals.Children(master)
			return func(ctx context.Context) error {
				if err := poll(ctx, "nginx's new workers", func() bool {
					for _, pid := range signals.Children(master) {
						if !slices.Contains(old, pid) {
							return true
						}
					}
					return false
				}); err != nil {
					return err
				}
				if next, err := nginx.Load(st.nginx.Path); err == nil {
					sup.SetStopBound("nginx", next.StopBound())
				}
				return nil
			}
		},
		Timeout: 10 * time.Second,
	}}
}

func childPid(sup *supervisor.Supervisor, name string) int {
	for _, c := range sup.Status().Children {
		if c.Name == name {
			return c.Pid
		}
	}
	return 0
}

func allGone(pids []int) bool {
	for _, pid := range pids {
		if unix.Kill(pid, 0) == nil {
			return false
		}
	}
	return true
}

func pingAll(ctx context.Context, pools []phpfpm.Pool) error {
	for _, p := range pools {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := p.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// poll checks cond every settlePoll until it holds or ctx ends.
func poll(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(settlePoll):
		}
	}
	return nil
}

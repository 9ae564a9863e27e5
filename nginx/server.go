package nginx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lnmp-init/lnmp-init/lastgood"
	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/procs"
)

// readyPoll is how often Ready asks a starting nginx.
const readyPoll = 10 * time.Millisecond

// Server is nginx as one lnmp-init runs it: its binary, what its config
// said when nginx last read it (the config in force, which a reload
// replaces once nginx serves the new one), and the last config that
// worked, to start from when the files on disk have not (see lastgood).
type Server struct {
	Bin  string
	run  Runner
	cfg  atomic.Pointer[Config]
	good *lastgood.Keeper
}

// NewServer reads the config at path for the nginx binary bin; run runs
// nginx -t; runtimeDir gives the private directory a copy of the last good
// config goes to when one is needed. A config that says "daemon on;" is
// refused: nginx would fork away from lnmp-init.
func NewServer(bin, path string, run Runner, runtimeDir func() (string, error)) (*Server, error) {
	cfg, err := loadForeground(path)
	if err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, run: run}
	s.cfg.Store(cfg)
	s.good = lastgood.New(cfg.AbsPath, "nginx.conf", cfg.Text, runtimeDir)
	return s, nil
}

func loadForeground(path string) (*Config, error) {
	cfg, err := Load(path)
	if err != nil {
		return nil, err
	}
	if cfg.DaemonOn {
		return nil, fmt.Errorf("%s sets \"daemon on;\": nginx would fork away from lnmp-init; remove the directive", path)
	}
	return cfg, nil
}

// Config returns the config in force.
func (s *Server) Config() *Config { return s.cfg.Load() }

// LaunchArgs returns nginx's arguments for a start or a restart: the
// operator's config while the files on disk still say what last served,
// else a copy of the last config that did (fallback).
func (s *Server) LaunchArgs() (args, env []string, fallback bool, err error) {
	var text []byte // unreadable files count as changed
	if current, err := loadForeground(s.Config().Path); err == nil {
		text = current.Text
	}
	path, fallback, err := s.good.Launch(text)
	good := *s.Config()
	good.Path, good.AbsPath = path, path
	return Args(&good), nil, fallback, err
}

// Validate asks nginx whether the config on disk will start, with the
// arguments that config needs (it may have gained or lost a daemon line),
// then checks what nginx -t does not: that the addresses the new config
// listens on and the current one does not are free.
func (s *Server) Validate(ctx context.Context) error {
	next, err := loadForeground(s.Config().Path)
	if err != nil {
		return err
	}
	if err := Validate(ctx, s.run, s.Bin, next); err != nil {
		return err
	}
	var errs []error
	for _, a := range next.Listens {
		if err := listen.CheckFree(a, s.Config().Listens); err != nil {
			if o, oerr := procs.Owned(a, nil); oerr == nil && o.Listening {
				err = fmt.Errorf("%w: %w", err, o.Foreign())
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Ready waits until nginx, the master pid, listens on every address of the
// config in force: the master holds the listening socket, so another
// process on the same address does not pass for nginx.
func (s *Server) Ready(ctx context.Context, pid int) error {
	for _, a := range s.Config().Listens {
		for {
			o, err := procs.Owned(a, []int{pid})
			if err == nil && o.Ours {
				break
			}
			select {
			case <-ctx.Done():
				if err == nil && o.Listening {
					err = o.Foreign()
				}
				return fmt.Errorf("waiting for nginx on %s: %w", a, errors.Join(ctx.Err(), err))
			case <-time.After(readyPoll):
			}
		}
	}
	return nil
}

// Watch watches the running nginx whose master is pid until ctx ends. A
// stopped master, or every worker stopped (SIGSTOP, a debugger), serves
// nothing: it calls answering(false) at once, answering(true) when that
// ends, and returns an error once it has lasted hang (0: never), after
// which only a restart helps. nginx's master sleeps until a signal comes,
// so unlike php-fpm's its scheduling says nothing.
func (s *Server) Watch(ctx context.Context, pid int, hang time.Duration, answering func(bool)) error {
	var since time.Time // when it was first seen stopped; zero while not
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		t := procs.Snapshot()
		master, ok := t[pid]
		if !ok {
			return nil // gone: its exit is the supervisor's to handle
		}
		stopped, what := master.Stopped(), "master"
		if !stopped {
			workers := t.Children(pid)
			stopped, what = len(workers) > 0, "workers"
			for _, w := range workers {
				stopped = stopped && t[w].Stopped()
			}
		}
		now := time.Now()
		switch {
		case !stopped && !since.IsZero():
			since = time.Time{}
			answering(true)
		case !stopped:
		case since.IsZero():
			since = now
			answering(false)
		case hang > 0 && now.Sub(since) >= hang:
			return fmt.Errorf("nginx's %s stopped for %v", what, now.Sub(since).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Reload is a reload of nginx in progress. On SIGHUP the master starts
// workers with the new config and lets the old ones finish; when nginx
// itself rejects the new config, no new worker ever appears.
type Reload struct {
	srv    *Server
	master int
	old    []int // the workers before the signal
	next   *Config
}

// BeginReload prepares a reload of the master pid: call it just before the
// signal. It fails when the config on disk cannot be read, or when nginx
// runs from the copy of the last good config and the new one cannot be
// written there.
func (s *Server) BeginReload(pid int) (*Reload, error) {
	next, err := loadForeground(s.Config().Path)
	if err != nil {
		return nil, fmt.Errorf("read the new nginx config: %w", err)
	}
	if err := s.good.Prepare(next.Text); err != nil {
		return nil, err
	}
	return &Reload{srv: s, master: pid, old: procs.Snapshot().Children(pid), next: next}, nil
}

// Served reports whether nginx has started a worker since the signal.
func (r *Reload) Served(context.Context) bool {
	for _, pid := range procs.Snapshot().Children(r.master) {
		if !slices.Contains(r.old, pid) {
			return true
		}
	}
	return false
}

// Commit makes the new config the one in force, and the last good one, and
// returns its graceful stop bound.
func (r *Reload) Commit() time.Duration {
	r.srv.good.Served(r.next.Text)
	r.srv.cfg.Store(r.next)
	return r.next.GracefulStop()
}

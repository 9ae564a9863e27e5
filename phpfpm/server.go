package phpfpm

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/procs"
)

// readyPoll is how often Ready dials a starting php-fpm's sockets.
const readyPoll = 10 * time.Millisecond

// Server is php-fpm as one lnmp-init runs it: its binary, its main config
// file, and what that config said when php-fpm last read it (the config in
// force), which a reload replaces once php-fpm serves the new one.
type Server struct {
	Bin  string
	Path string // the main config file, as given to php-fpm -y
	// Prefix is the install prefix php-fpm resolves relative paths against.
	Prefix string
	run    Runner
	cfg    atomic.Pointer[Config]
}

// NewServer reads the config at path for the php-fpm binary bin; run runs
// php-fpm's own checks (-t, -i).
func NewServer(bin, path string, run Runner) (*Server, error) {
	s := &Server{Bin: bin, Path: path, Prefix: Prefix(bin), run: run}
	cfg, err := Load(path, s.Prefix)
	if err != nil {
		return nil, err
	}
	s.cfg.Store(cfg)
	return s, nil
}

// Config returns the config in force.
func (s *Server) Config() *Config { return s.cfg.Load() }

// Args returns php-fpm's arguments (see Args).
func (s *Server) Args() []string { return Args(s.Path) }

// Validate asks php-fpm whether the config on disk is valid (see Validate).
func (s *Server) Validate(ctx context.Context) error { return Validate(ctx, s.run, s.Bin, s.Path) }

// IniPaths asks php-fpm which php.ini files it reads (see IniPaths).
func (s *Server) IniPaths(ctx context.Context) (string, []string, error) {
	return IniPaths(ctx, s.run, s.Bin)
}

// Ready waits until every pool of the config in force accepts connections.
func (s *Server) Ready(ctx context.Context) error {
	var addrs []listen.Addr
	for _, p := range s.Config().Pools {
		addrs = append(addrs, p.Listen)
	}
	return listen.WaitAccepting(ctx, addrs, readyPoll)
}

// Reload is a reload of php-fpm in progress. On SIGUSR2 the master stops
// its workers gracefully, re-executes itself and starts new ones; until the
// workers from before the signal are gone one of them may still answer, so
// a ping alone proves nothing.
type Reload struct {
	srv  *Server
	old  []int   // the workers before the signal
	next *Config // the config php-fpm is about to read
}

// BeginReload prepares a reload of the master pid: call it just before the
// signal. It fails when the config on disk cannot be read.
func (s *Server) BeginReload(pid int) (*Reload, error) {
	next, err := Load(s.Path, s.Prefix)
	if err != nil {
		return nil, fmt.Errorf("read the new php-fpm config: %w", err)
	}
	return &Reload{srv: s, old: procs.Snapshot().Children(pid), next: next}, nil
}

// Served reports whether php-fpm serves the new config: every worker from
// before the signal is gone and every pool of the new config answers.
func (r *Reload) Served(ctx context.Context) bool {
	for _, pid := range r.old {
		if unix.Kill(pid, 0) == nil {
			return false
		}
	}
	for _, p := range r.next.Pools {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := p.Ping(pctx)
		cancel()
		if err != nil {
			return false
		}
	}
	return true
}

// Commit makes the new config the one in force and returns its graceful
// stop bound.
func (r *Reload) Commit() time.Duration {
	r.srv.cfg.Store(r.next)
	return r.next.GracefulStop()
}

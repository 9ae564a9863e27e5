package nginx

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/procs"
)

// readyPoll is how often Ready dials a starting nginx's addresses.
const readyPoll = 10 * time.Millisecond

// Server is nginx as one lnmp-init runs it: its binary and what its config
// said when nginx last read it (the config in force), which a reload
// replaces once nginx serves the new one.
type Server struct {
	Bin string
	run Runner
	cfg atomic.Pointer[Config]
}

// NewServer reads the config at path for the nginx binary bin; run runs
// nginx -t. A config that says "daemon on;" is refused: nginx would fork
// away from lnmp-init, which then could not supervise it.
func NewServer(bin, path string, run Runner) (*Server, error) {
	cfg, err := loadForeground(path)
	if err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, run: run}
	s.cfg.Store(cfg)
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

// Args returns nginx's arguments for the config in force (see Args).
func (s *Server) Args() []string { return Args(s.Config()) }

// Validate asks nginx whether the config on disk will start, with the
// arguments that config needs (it may have gained or lost a daemon line).
func (s *Server) Validate(ctx context.Context) error {
	next, err := loadForeground(s.Config().Path)
	if err != nil {
		return err
	}
	return Validate(ctx, s.run, s.Bin, next)
}

// Ready waits until every address of the config in force accepts
// connections.
func (s *Server) Ready(ctx context.Context) error {
	return listen.WaitAccepting(ctx, s.Config().Listens, readyPoll)
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
// signal. It fails when the config on disk cannot be read.
func (s *Server) BeginReload(pid int) (*Reload, error) {
	next, err := loadForeground(s.Config().Path)
	if err != nil {
		return nil, fmt.Errorf("read the new nginx config: %w", err)
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

// Commit makes the new config the one in force and returns its graceful
// stop bound.
func (r *Reload) Commit() time.Duration {
	r.srv.cfg.Store(r.next)
	return r.next.GracefulStop()
}

package phpfpm

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/lastgood"
	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/procs"
)

// readyPoll is how often Ready asks a starting php-fpm.
const readyPoll = 10 * time.Millisecond

// Server is php-fpm as one lnmp-init runs it: its binary, its main config
// file, what that config said when php-fpm last read it (the config in
// force, which a reload replaces once php-fpm serves the new one), and the
// last config that worked, to start from when the files on disk have not
// (see package lastgood).
type Server struct {
	Bin  string
	Path string // the main config file, as given to php-fpm -y
	// Prefix is the install prefix php-fpm resolves relative paths against.
	Prefix string
	run    Runner
	cfg    atomic.Pointer[Config]
	good   *lastgood.Keeper
	ini    iniKeeper // the same for php.ini
	// ClientAccess, when set, says whether the web server's workers may
	// connect to a pool's unix socket: a socket only lnmp-init (root) can
	// use passes lnmp-init's own ping while every request nginx sends
	// gets EACCES.
	ClientAccess func(socket string) error
}

// NewServer reads the config at path for the php-fpm binary bin; run runs
// php-fpm's own checks (-t, -i); runtimeDir gives the private directory a
// copy of the last good config goes to when one is needed.
func NewServer(bin, path string, run Runner, runtimeDir func() (string, error)) (*Server, error) {
	s := &Server{Bin: bin, Path: path, Prefix: Prefix(bin), run: run}
	cfg, err := Load(path, s.Prefix)
	if err != nil {
		return nil, err
	}
	s.cfg.Store(cfg)
	s.good = lastgood.New(path, "php-fpm.conf", cfg.Text, runtimeDir)
	s.ini.dir = runtimeDir
	return s, nil
}

// Config returns the config in force.
func (s *Server) Config() *Config { return s.cfg.Load() }

// Addrs returns the listen addresses of the config in force.
func (s *Server) Addrs() []listen.Addr {
	var addrs []listen.Addr
	for _, p := range s.Config().Pools {
		addrs = append(addrs, p.Listen)
	}
	return addrs
}

// LaunchArgs returns php-fpm's arguments, and what to add to its
// environment, for a start or a restart: the operator's config and php.ini
// while the files on disk still say what last served, else a copy of the
// last that did (fallback), so that a config that killed php-fpm on its
// reload, or a php.ini refused for a syntax error, cannot come back with a
// crash.
func (s *Server) LaunchArgs() (args, env []string, fallback bool, err error) {
	var text []byte // unreadable files count as changed
	if current, err := Load(s.Path, s.Prefix); err == nil {
		text = current.Text
	}
	path, fallback, err := s.good.Launch(text)
	iniArgs, env, iniFallback, iniErr := s.ini.launch()
	return append(iniArgs, Args(path)...), env, fallback || iniFallback, errors.Join(err, iniErr)
}

// KnowIni tells the server where php.ini is (see IniPaths), once that is
// known, and reads what it holds as what php-fpm serves with, unless
// unsure is set: a change may have come between php-fpm's start and now.
// Until then php.ini has no last good copy.
func (s *Server) KnowIni(iniFile string, scanDirs []string, unsure bool) error {
	var good *IniSet
	var err error
	if !unsure {
		var set IniSet
		if set, err = ReadIniSet(iniFile, scanDirs); err == nil {
			good = &set
		}
	}
	s.ini.Know(iniFile, scanDirs, good)
	return err
}

// Validate asks php-fpm whether the config on disk is valid (see
// Validate), then checks what php-fpm -t does not: that the addresses the
// new config listens on and the current one does not are free.
func (s *Server) Validate(ctx context.Context) error {
	if err := Validate(ctx, s.run, s.Bin, s.Path); err != nil {
		return err
	}
	next, err := Load(s.Path, s.Prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range next.Pools {
		if err := listen.CheckFree(p.Listen, s.Addrs()); err != nil {
			errs = append(errs, fmt.Errorf("pool %s: %w", p.Name, describeHolder(p.Listen, err)))
		}
	}
	return errors.Join(errs...)
}

// describeHolder adds who holds a, when someone does, to err.
func describeHolder(a listen.Addr, err error) error {
	if o, oerr := procs.Owned(a, nil); oerr == nil && o.Listening {
		return fmt.Errorf("%w: %w", err, o.Foreign())
	}
	return err
}

// IniPaths asks php-fpm which php.ini files it reads (see IniPaths).
func (s *Server) IniPaths(ctx context.Context) (string, []string, error) {
	return IniPaths(ctx, s.run, s.Bin)
}

// Ready waits until php-fpm, the master pid, serves every pool of the
// config in force: the master holds the pool's listening socket (a dial
// alone cannot tell it from another process on the same address) and a
// worker answers a FastCGI request. It fails at once when a pool's socket
// is one the web server may not connect to.
func (s *Server) Ready(ctx context.Context, pid int) error {
	for _, p := range s.Config().Pools {
		for {
			err := servesPool(ctx, p, pid)
			if err == nil {
				if err := s.clientMayConnect(p); err != nil {
					return err
				}
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for pool %s: %w", p.Name, errors.Join(ctx.Err(), err))
			case <-time.After(readyPoll):
			}
		}
	}
	return nil
}

// clientMayConnect checks ClientAccess for a pool on a unix socket.
func (s *Server) clientMayConnect(p Pool) error {
	if s.ClientAccess == nil || p.Listen.Network != "unix" {
		return nil
	}
	if err := s.ClientAccess(p.Listen.Address); err != nil {
		return fmt.Errorf("pool %s: %w: set listen.owner, listen.group or listen.mode in the pool", p.Name, err)
	}
	return nil
}

func servesPool(ctx context.Context, p Pool, pid int) error {
	o, err := procs.Owned(p.Listen, []int{pid})
	switch {
	case err != nil:
		return err
	case !o.Listening:
		return fmt.Errorf("nothing listens on %s yet", p.Listen)
	case !o.Ours:
		return o.Foreign()
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return p.Ping(pctx)
}

// Reload is a reload of php-fpm in progress. On SIGUSR2 the master stops
// its workers gracefully, re-executes itself and starts new ones; until the
// workers from before the signal are gone one of them may still answer, so
// a ping alone proves nothing.
type Reload struct {
	srv  *Server
	old  []int   // the workers before the signal
	next *Config // the config php-fpm is about to read
	ini  *IniSet // the php.ini files it is about to read; nil while unknown
}

// BeginReload prepares a reload of the master pid: call it just before the
// signal. It fails when the config on disk cannot be read, or when php-fpm
// runs from the copy of the last good config and the new one cannot be
// written there.
func (s *Server) BeginReload(pid int) (*Reload, error) {
	next, err := Load(s.Path, s.Prefix)
	if err != nil {
		return nil, fmt.Errorf("read the new php-fpm config: %w", err)
	}
	if err := s.good.Prepare(next.Text); err != nil {
		return nil, err
	}
	ini, err := s.ini.prepare()
	if err != nil {
		return nil, err
	}
	return &Reload{srv: s, old: procs.Snapshot().Children(pid), next: next, ini: ini}, nil
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

// Commit makes the new config the one in force, and the last good one, and
// returns its graceful stop bound.
func (r *Reload) Commit() time.Duration {
	r.srv.good.Served(r.next.Text)
	r.srv.ini.served(r.ini)
	r.srv.cfg.Store(r.next)
	return r.next.GracefulStop()
}

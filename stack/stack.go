// Package stack assembles what one lnmp-init runs: php-fpm and nginx, found
// and read from their configs, and what the supervisor, the reloader and
// the config watcher need to know of them. cmd/lnmp-init wires these parts
// together; the test module builds the example's stop plan from Policy, the
// same function lnmp-init uses.
package stack

import (
	"context"
	"io"
	"os/exec"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/peer"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/procfile"
	"github.com/lnmp-init/lnmp-init/reload"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// Options are the settings the stack is built from; empty binaries and
// configs are searched for.
type Options struct {
	PhpFpmBin, PhpFpmConfig string
	NginxBin, NginxConfig   string
	// Watch are more paths to reload on (--watch).
	Watch []string
	// Procfile names the programs to run beside the servers; PreStart
	// holds the pre-start tasks, one a line.
	Procfile, PreStart string
	// Only, when set, runs that server alone ("nginx" or "php-fpm"): one
	// server per container, the other in a container of its own.
	Only string
	// PeerLock is the lock file in a volume both containers of such a pod
	// share (see package peer): the nginx side holds it, the php-fpm side
	// waits for it before it stops php-fpm.
	PeerLock string
	Timing   Timing
}

// Timing is the supervisor's timing settings.
type Timing struct {
	DrainDelay, StopTimeout, StartTimeout time.Duration
	CrashLimit                            int
	CrashWindow                           time.Duration
	// HangTimeout is how long a child may look hung before it is
	// restarted (see phpfpm.Server.Watch); 0 turns that off.
	HangTimeout time.Duration
}

// Runner runs a command to its end and returns its combined output: in
// lnmp-init the reaper's Run, so that the one process that waits for
// children also waits for nginx -t and php-fpm -t.
type Runner func(ctx context.Context, cmd *exec.Cmd) ([]byte, error)

// SettingError is a problem with one setting, named as its flag is
// (without the dashes), so the caller can name the flag and its variable.
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// Stack is php-fpm and nginx as this lnmp-init runs them. With
// Options.Only, the other one is nil.
type Stack struct {
	FPM      *phpfpm.Server
	Nginx    *nginx.Server
	Programs []procfile.Program
	Tasks    []procfile.Task
	opts     Options
	runtime  runtimeDir
}

// Discover finds the binaries and reads the configs of the servers it
// runs. Every error is a *SettingError naming the setting that would fix
// it.
func Discover(opts Options, run Runner) (*Stack, error) {
	st := &Stack{opts: opts}
	if opts.Only != "nginx" {
		bin, err := findBinary("php-fpm-bin", opts.PhpFpmBin, phpfpm.FindBinary)
		if err != nil {
			return nil, err
		}
		path := opts.PhpFpmConfig
		if path == "" {
			path = phpfpm.DefaultConfig(bin)
		}
		if st.FPM, err = phpfpm.NewServer(bin, path, phpfpm.Runner(run), st.runtime.get); err != nil {
			return nil, &SettingError{"php-fpm-config", err}
		}
	}
	if opts.Only != "php-fpm" {
		bin, err := findBinary("nginx-bin", opts.NginxBin, nginx.FindBinary)
		if err != nil {
			return nil, err
		}
		path := opts.NginxConfig
		if path == "" {
			path = nginx.DefaultConfig
		}
		if st.Nginx, err = nginx.NewServer(bin, path, nginx.Runner(run), st.runtime.get); err != nil {
			return nil, &SettingError{"nginx-config", err}
		}
	}
	if st.FPM != nil && st.Nginx != nil {
		st.FPM.ClientAccess = nginxAccess(st.Nginx.Config)
	}
	if err := st.loadPrograms(opts); err != nil {
		return nil, err
	}
	if opts.Only == "php-fpm" && opts.PeerLock != "" {
		if err := peer.CheckDir(opts.PeerLock); err != nil {
			return nil, &SettingError{"peer-lock", err}
		}
	}
	return st, nil
}

// findBinary resolves a binary setting, or searches when it is empty.
func findBinary(setting, value string, search func() (string, error)) (string, error) {
	if value == "" {
		bin, err := search()
		if err != nil {
			return "", &SettingError{setting, err}
		}
		return bin, nil
	}
	bin, err := exec.LookPath(value)
	if err != nil {
		return "", &SettingError{setting, err}
	}
	return bin, nil
}

// Policy is the supervisor's policy for php-fpm and nginx with these
// configs (nil: the server does not run here): start order, stop and
// reload signals, graceful-stop bounds, and the timing settings.
// Supervisor adds how to run each child and when it is ready.
func Policy(fpm *phpfpm.Config, ngx *nginx.Config, t Timing) supervisor.Config {
	cfg := supervisor.Config{
		DrainDelay:   t.DrainDelay,
		StopTimeout:  t.StopTimeout,
		StartTimeout: t.StartTimeout,
		CrashLimit:   t.CrashLimit,
		CrashWindow:  t.CrashWindow,
	}
	if fpm != nil {
		cfg.Children = append(cfg.Children, supervisor.Spec{Name: "php-fpm", StopSignal: unix.SIGQUIT,
			GracefulStop: fpm.GracefulStop(), ReloadSignal: unix.SIGUSR2})
	}
	if ngx != nil {
		cfg.Children = append(cfg.Children, supervisor.Spec{Name: "nginx", StopSignal: unix.SIGQUIT,
			GracefulStop: ngx.GracefulStop(), ReloadSignal: unix.SIGHUP})
	}
	return cfg
}

// fpmConfig and nginxConfig are the configs in force, nil for a server
// that does not run here.
func (st *Stack) fpmConfig() *phpfpm.Config {
	if st.FPM == nil {
		return nil
	}
	return st.FPM.Config()
}

func (st *Stack) nginxConfig() *nginx.Config {
	if st.Nginx == nil {
		return nil
	}
	return st.Nginx.Config()
}

// Supervisor is the supervisor's whole config: Policy, with how to start,
// check and watch each child. What they do follows the config in force, so
// a restart after a reload waits for the addresses the new config names.
func (st *Stack) Supervisor(log *zap.Logger) supervisor.Config {
	cfg := Policy(st.fpmConfig(), st.nginxConfig(), st.opts.Timing)
	hang := st.opts.Timing.HangTimeout
	for i := range cfg.Children {
		c := &cfg.Children[i]
		switch c.Name {
		case "php-fpm":
			c.Path, c.Args = st.FPM.Bin, launchArgs(log, "php-fpm", st.FPM.LaunchArgs)
			c.Free, c.Ready = freeAddrs(log, "php-fpm", st.FPM.Addrs), st.FPM.Ready
			c.Watch = func(ctx context.Context, pid int, answering func(bool)) error {
				return st.FPM.Watch(ctx, pid, hang, st.stuckBound, answering)
			}
			if st.opts.Only == "php-fpm" && st.opts.PeerLock != "" {
				c.BeforeStop = waitForPeer(log, st.opts.PeerLock)
			}
		case "nginx":
			c.Path, c.Args = st.Nginx.Bin, launchArgs(log, "nginx", st.Nginx.LaunchArgs)
			c.Free = freeAddrs(log, "nginx", func() []listen.Addr { return st.Nginx.Config().Listens })
			c.Ready = st.Nginx.Ready
			c.Watch = func(ctx context.Context, pid int, answering func(bool)) error {
				return st.Nginx.Watch(ctx, pid, hang, answering)
			}
		}
	}
	cfg.Children = append(cfg.Children, st.programSpecs()...)
	cfg.Tasks = TaskSpecs(st.Tasks)
	return cfg
}

// stuckBound is how long php-fpm may answer nothing, every worker busy,
// before it counts as hung (see phpfpm.Server.Watch): nginx's longest
// fastcgi_read_timeout in force (its default without nginx here) plus the
// hang timeout.
func (st *Stack) stuckBound() time.Duration {
	wait := nginx.DefaultFastCGIReadTimeout
	if st.Nginx != nil {
		wait = st.Nginx.Config().FastCGIWait
	}
	return wait + st.opts.Timing.HangTimeout
}

// launchArgs is a Spec.Args that says when a child starts from the last
// config that worked rather than from the operator's files.
func launchArgs(log *zap.Logger, child string, launch func() ([]string, []string, bool, error)) func() ([]string, []string) {
	return func() ([]string, []string) {
		args, env, fallback, err := launch()
		if err != nil {
			log.Error("cannot keep the last config that worked; starting from the files on disk", zap.String("child", child), zap.Error(err))
		}
		if fallback {
			log.Error("the config on disk has not served yet (its reload failed, or is still to come): starting from the last config that worked; the next change of the files is tried again",
				zap.String("child", child), zap.Strings("args", args), zap.Strings("env", env))
		}
		return args, env
	}
}

// Close removes what the stack wrote (copies of the last good configs).
func (st *Stack) Close() error { return st.runtime.remove() }

// PrepareRuntime makes the private directory the copies of the last good
// configs go to. Without one, a reload that passes validation and still
// kills php-fpm takes the container down; the caller warns.
func (st *Stack) PrepareRuntime() (string, error) { return st.runtime.get() }

// ReloadTargets says how the reloader validates each server and tells
// that it serves a new config, php-fpm first.
func (st *Stack) ReloadTargets() []reload.Target {
	var targets []reload.Target
	if st.FPM != nil {
		targets = append(targets, reload.Target{
			Name:     "php-fpm",
			Validate: st.FPM.Validate,
			Begin:    progress(st.FPM.BeginReload),
			// On SIGUSR2 php-fpm waits for its old workers up to
			// process_control_timeout.
			Timeout: st.FPM.Config().ProcessControlTimeout + 10*time.Second,
			// A master that cannot run its new config exits 78 (EX_CONFIG).
			DiedOfConfig: func(code int) bool { return code == phpfpm.ExitConfig },
		})
	}
	if st.Nginx != nil {
		targets = append(targets, reload.Target{
			Name:     "nginx",
			Validate: st.Nginx.Validate,
			Begin:    progress(st.Nginx.BeginReload),
			Timeout:  10 * time.Second,
		})
	}
	return targets
}

// progress adapts a program's BeginReload to reload.Target.Begin.
func progress[P reload.Progress](begin func(pid int) (P, error)) func(int) (reload.Progress, error) {
	return func(pid int) (reload.Progress, error) {
		p, err := begin(pid)
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return p, nil
	}
}

// Log logs what was found.
func (st *Stack) Log(log *zap.Logger, fields ...zap.Field) {
	if fpm := st.fpmConfig(); fpm != nil {
		var pools []string
		for _, p := range fpm.Pools {
			pools = append(pools, p.Name+"="+p.Listen.String())
		}
		fields = append(fields, zap.String("php_fpm", st.FPM.Bin), zap.String("php_fpm_config", fpm.Path), zap.Strings("pools", pools),
			zap.Duration("process_control_timeout", fpm.ProcessControlTimeout))
	}
	if ngx := st.nginxConfig(); ngx != nil {
		fields = append(fields, zap.String("nginx", st.Nginx.Bin), zap.String("nginx_config", ngx.Path))
	}
	if st.opts.Only != "" {
		fields = append(fields, zap.String("only", st.opts.Only))
	}
	log.Info("starting", append(fields,
		zap.Duration("drain_delay", st.opts.Timing.DrainDelay), zap.Duration("stop_timeout", st.opts.Timing.StopTimeout))...)
}

// HoldPeer takes the peer lock for the nginx side (see package peer); the
// lock is released when lnmp-init ends, after nginx.
func (st *Stack) HoldPeer() (io.Closer, error) {
	if st.opts.Only != "nginx" || st.opts.PeerLock == "" {
		return nil, nil
	}
	f, err := peer.Hold(st.opts.PeerLock)
	if err != nil {
		return nil, &SettingError{"peer-lock", err}
	}
	return f, nil
}

// waitForPeer is the php-fpm side's BeforeStop: it waits until no nginx
// side holds the peer lock, and logs what it waited for and how long.
func waitForPeer(log *zap.Logger, path string) func(context.Context) {
	return func(ctx context.Context) {
		began := time.Now()
		log.Info("waiting for the nginx side to stop sending before stopping php-fpm", zap.String("peer_lock", path))
		held, err := peer.Wait(ctx, path)
		waited := time.Since(began)
		switch {
		case err != nil:
			log.Warn("gave up waiting for the nginx side; stopping php-fpm", zap.String("peer_lock", path), zap.Duration("waited", waited), zap.Error(err))
		case !held:
			log.Info("no nginx side holds the peer lock; stopping php-fpm", zap.String("peer_lock", path))
		default:
			log.Info("the nginx side has stopped; stopping php-fpm", zap.String("peer_lock", path), zap.Duration("waited", waited))
		}
	}
}

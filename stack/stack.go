// Package stack assembles what one lnmp-init runs: php-fpm and nginx, found
// and read from their configs, and what the supervisor, the reloader and
// the config watcher need to know of them. cmd/lnmp-init wires these parts
// together; the test module builds the example's stop plan from Policy, the
// same function lnmp-init uses.
package stack

import (
	"context"
	"os/exec"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/nginx"
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
	Timing             Timing
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

// Stack is php-fpm and nginx as this lnmp-init runs them.
type Stack struct {
	FPM      *phpfpm.Server
	Nginx    *nginx.Server
	Programs []procfile.Program
	Tasks    []procfile.Task
	opts     Options
	runtime  runtimeDir
}

// Discover finds the binaries and reads the configs. Every error is a
// *SettingError naming the setting that would fix it.
func Discover(opts Options, run Runner) (*Stack, error) {
	fpmBin, err := findBinary("php-fpm-bin", opts.PhpFpmBin, phpfpm.FindBinary)
	if err != nil {
		return nil, err
	}
	nginxBin, err := findBinary("nginx-bin", opts.NginxBin, nginx.FindBinary)
	if err != nil {
		return nil, err
	}
	fpmPath := opts.PhpFpmConfig
	if fpmPath == "" {
		fpmPath = phpfpm.DefaultConfig(fpmBin)
	}
	st := &Stack{opts: opts}
	if st.FPM, err = phpfpm.NewServer(fpmBin, fpmPath, phpfpm.Runner(run), st.runtime.get); err != nil {
		return nil, &SettingError{"php-fpm-config", err}
	}
	nginxPath := opts.NginxConfig
	if nginxPath == "" {
		nginxPath = nginx.DefaultConfig
	}
	if st.Nginx, err = nginx.NewServer(nginxBin, nginxPath, nginx.Runner(run), st.runtime.get); err != nil {
		return nil, &SettingError{"nginx-config", err}
	}
	st.FPM.ClientAccess = nginxAccess(st.Nginx.Config)
	if err := st.loadPrograms(opts); err != nil {
		return nil, err
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
// configs: start order, stop and reload signals, graceful-stop bounds, and
// the timing settings. Supervisor adds how to run each child and when it is
// ready.
func Policy(fpm *phpfpm.Config, ngx *nginx.Config, t Timing) supervisor.Config {
	return supervisor.Config{
		Children: []supervisor.Spec{
			{Name: "php-fpm", StopSignal: unix.SIGQUIT, GracefulStop: fpm.GracefulStop(), ReloadSignal: unix.SIGUSR2},
			{Name: "nginx", StopSignal: unix.SIGQUIT, GracefulStop: ngx.GracefulStop(), ReloadSignal: unix.SIGHUP},
		},
		DrainDelay:   t.DrainDelay,
		StopTimeout:  t.StopTimeout,
		StartTimeout: t.StartTimeout,
		CrashLimit:   t.CrashLimit,
		CrashWindow:  t.CrashWindow,
	}
}

// Supervisor is the supervisor's whole config: Policy, with how to start,
// check and watch each child. What they do follows the config in force, so
// a restart after a reload waits for the addresses the new config names.
func (st *Stack) Supervisor(log *zap.Logger) supervisor.Config {
	cfg := Policy(st.FPM.Config(), st.Nginx.Config(), st.opts.Timing)
	hang := st.opts.Timing.HangTimeout
	fpm, ngx := &cfg.Children[0], &cfg.Children[1]
	fpm.Path, fpm.Args = st.FPM.Bin, launchArgs(log, "php-fpm", st.FPM.LaunchArgs)
	fpm.Free, fpm.Ready = freeAddrs(log, "php-fpm", st.FPM.Addrs), st.FPM.Ready
	fpm.Watch = func(ctx context.Context, pid int, answering func(bool)) error {
		return st.FPM.Watch(ctx, pid, hang, answering)
	}
	ngx.Path, ngx.Args = st.Nginx.Bin, launchArgs(log, "nginx", st.Nginx.LaunchArgs)
	ngx.Free = freeAddrs(log, "nginx", func() []listen.Addr { return st.Nginx.Config().Listens })
	ngx.Ready = st.Nginx.Ready
	ngx.Watch = func(ctx context.Context, pid int, answering func(bool)) error {
		return st.Nginx.Watch(ctx, pid, hang, answering)
	}
	cfg.Children = append(cfg.Children, st.programSpecs()...)
	cfg.Tasks = st.taskSpecs()
	return cfg
}

// launchArgs is a Spec.Args that says when a child starts from the last
// config that worked rather than from the operator's files.
func launchArgs(log *zap.Logger, child string, launch func() ([]string, bool, error)) func() []string {
	return func() []string {
		args, fallback, err := launch()
		if err != nil {
			log.Error("cannot keep the last config that worked; starting from the files on disk", zap.String("child", child), zap.Error(err))
		}
		if fallback {
			log.Error("the config on disk has not served yet (its reload failed, or is still to come): starting from the last config that worked; the next change of the files is tried again",
				zap.String("child", child), zap.Strings("args", args))
		}
		return args
	}
}

// Close removes what the stack wrote (copies of the last good configs).
func (st *Stack) Close() error { return st.runtime.remove() }

// ReloadTargets says how the reloader validates each program and tells that
// it serves a new config, php-fpm first.
func (st *Stack) ReloadTargets() []reload.Target {
	return []reload.Target{{
		Name:     "php-fpm",
		Validate: st.FPM.Validate,
		Begin:    progress(st.FPM.BeginReload),
		// On SIGUSR2 php-fpm waits for its old workers up to
		// process_control_timeout.
		Timeout: st.FPM.Config().ProcessControlTimeout + 10*time.Second,
		// A master that cannot run its new config exits 78 (EX_CONFIG).
		DiedOfConfig: func(code int) bool { return code == phpfpm.ExitConfig },
	}, {
		Name:     "nginx",
		Validate: st.Nginx.Validate,
		Begin:    progress(st.Nginx.BeginReload),
		Timeout:  10 * time.Second,
	}}
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
	fpm, ngx := st.FPM.Config(), st.Nginx.Config()
	var pools []string
	for _, p := range fpm.Pools {
		pools = append(pools, p.Name+"="+p.Listen.String())
	}
	log.Info("starting", append(fields,
		zap.String("php_fpm", st.FPM.Bin), zap.String("php_fpm_config", fpm.Path), zap.Strings("pools", pools),
		zap.Duration("process_control_timeout", fpm.ProcessControlTimeout),
		zap.String("nginx", st.Nginx.Bin), zap.String("nginx_config", ngx.Path),
		zap.Duration("drain_delay", st.opts.Timing.DrainDelay), zap.Duration("stop_timeout", st.opts.Timing.StopTimeout))...)
}

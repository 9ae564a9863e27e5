package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/health"
	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/metrics"
	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/signals"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

const (
	// readyPoll is how often lnmp-init dials a starting child's sockets.
	readyPoll = 10 * time.Millisecond
)

// serve is lnmp-init as PID 1.
func serve(args []string, stdout, stderr io.Writer) int {
	// First of all: the kernel drops signals to PID 1 that have no handler.
	intake := signals.Notify()
	defer intake.Stop()
	tuneRuntime()
	set, rest, err := parseSettings("lnmp-init", args, stdout, nil)
	if err == nil && len(rest) > 0 {
		err = &usageError{fmt.Sprintf("unexpected argument %q; see lnmp-init --help", rest[0])}
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	log := newLogger(set, stderr)
	defer func() { _ = log.Sync() }()
	st, err := discover(set)
	if err != nil {
		return exitCode(stderr, err)
	}
	if err := signals.BecomeSubreaper(); err != nil {
		log.Warn("cannot become a subreaper; orphans of the children will not be reaped", zap.Error(err))
	}
	logStack(log, set, st)
	out, err := childOutput()
	if err != nil {
		return exitCode(stderr, err)
	}
	defer out.flush()
	if out.relayed {
		log.Info("stdout or stderr cannot be reopened by the children (a pipe of another user); relaying their output")
	}
	// Opened before any child starts: a taken port is bad input, not a
	// probe that fails later.
	var probes net.Listener
	if set.HealthAddr != "" {
		if probes, err = health.Listen(set.HealthAddr); err != nil {
			return exitCode(stderr, settingError("health-addr", "%v", err))
		}
	}
	return runStack(intake, log, set, st, out, probes)
}

// runStack wires the running parts, each in its own block, runs the
// supervisor to its end and returns lnmp-init's exit code.
func runStack(intake *signals.Intake, log *zap.Logger, set *settings, st *stack, out *childIO, probes net.Listener) int {
	cfg := supervisorConfig(set, st)
	for _, h := range hazards(set, st, cfg) {
		log.Warn(h)
	}
	// The reaper: the only waiter for children. It stops last, after
	// everything that may still run a command through it.
	reaper := signals.NewReaper(256)
	reapCtx, stopReaping := context.WithCancel(context.Background())
	var reaping sync.WaitGroup
	reaping.Go(func() { reaper.Loop(reapCtx, intake.Child) })
	defer reaping.Wait()
	defer stopReaping()

	ctx, cancel := context.WithCancel(context.Background())
	var background sync.WaitGroup
	defer background.Wait()
	defer cancel()

	// The supervisor, and the metrics that observe it.
	var sup *supervisor.Supervisor
	pools := newLivePools(st.fpm.Pools)
	mx := metrics.New(childNames(cfg), func() *supervisor.Status { return sup.Status() }, serverCollectors(log, set, st, pools.get)...)
	reloadAsks := make(chan struct{}, 1)
	sup = supervisor.New(cfg, supervisor.Deps{
		Launcher: supervisor.ReaperLauncher{Reaper: reaper, Stdout: out.stdout, Stderr: out.stderr},
		Host:     supervisor.OSHost{},
		Signals:  intake.Control,
		Orphans:  reaper.Orphans(),
		Log:      log,
		Observer: mx,
		Reload:   reloadAsks,
	})

	// Hot reload.
	run := func(cmd *exec.Cmd) ([]byte, error) { return reaper.Run(ctx, cmd) }
	startReload(ctx, &background, log, set, st, sup, pools, run, reloadAsks, mx.ReloadDone)

	// Probes and metrics.
	if probes != nil {
		srv := &health.Server{Status: sup.Status, Metrics: mx.Handler(), Log: log, Pools: func() []health.Pinger {
			var out []health.Pinger
			for _, p := range pools.get() {
				out = append(out, p)
			}
			return out
		}}
		background.Go(func() { srv.Serve(ctx, probes) })
		log.Info("probes listening", zap.String("addr", probes.Addr().String()))
	}
	return sup.Run(context.Background()).Code
}

func childNames(cfg supervisor.Config) []string {
	var names []string
	for _, c := range cfg.Children {
		names = append(names, c.Name)
	}
	return names
}

// stack is the php-fpm and nginx that lnmp-init runs.
type stack struct {
	fpmBin   string
	fpm      *phpfpm.Config
	nginxBin string
	nginx    *nginx.Config
}

// discover finds the binaries and reads the configs. Every error names the
// setting that would fix it.
func discover(set *settings) (*stack, error) {
	st := &stack{}
	var err error
	if st.fpmBin, err = findBinary("php-fpm-bin", set.PhpFpmBin, phpfpm.FindBinary); err != nil {
		return nil, err
	}
	if st.nginxBin, err = findBinary("nginx-bin", set.NginxBin, nginx.FindBinary); err != nil {
		return nil, err
	}
	fpmPath := set.PhpFpmConfig
	if fpmPath == "" {
		fpmPath = phpfpm.DefaultConfig(st.fpmBin)
	}
	if st.fpm, err = phpfpm.Load(fpmPath, phpfpm.Prefix(st.fpmBin)); err != nil {
		return nil, settingError("php-fpm-config", "%v", err)
	}
	nginxPath := set.NginxConfig
	if nginxPath == "" {
		nginxPath = nginx.DefaultConfig
	}
	if st.nginx, err = nginx.Load(nginxPath); err != nil {
		return nil, settingError("nginx-config", "%v", err)
	}
	if st.nginx.DaemonOn {
		return nil, settingError("nginx-config", "%s sets \"daemon on;\": nginx would fork away from lnmp-init; remove the directive", nginxPath)
	}
	return st, nil
}

// findBinary resolves a binary setting, or searches when it is empty.
func findBinary(flagName, value string, search func() (string, error)) (string, error) {
	if value == "" {
		bin, err := search()
		if err != nil {
			return "", settingError(flagName, "%v", err)
		}
		return bin, nil
	}
	bin, err := exec.LookPath(value)
	if err != nil {
		return "", settingError(flagName, "%v", err)
	}
	return bin, nil
}

// supervisorConfig turns settings and configs into the supervisor's policy.
func supervisorConfig(set *settings, st *stack) supervisor.Config {
	var fpmAddrs []listen.Addr
	for _, p := range st.fpm.Pools {
		fpmAddrs = append(fpmAddrs, p.Listen)
	}
	return supervisor.Config{
		Children: []supervisor.Spec{{
			Name:         "php-fpm",
			Path:         st.fpmBin,
			Args:         phpfpm.Args(st.fpm.Path),
			Ready:        waitAccepting(fpmAddrs),
			StopSignal:   unix.SIGQUIT,
			StopBound:    st.fpm.StopBound(),
			ReloadSignal: unix.SIGUSR2,
		}, {
			Name:         "nginx",
			Path:         st.nginxBin,
			Args:         nginx.Args(st.nginx),
			Ready:        waitAccepting(st.nginx.Listens),
			StopSignal:   unix.SIGQUIT,
			StopBound:    st.nginx.StopBound(),
			ReloadSignal: unix.SIGHUP,
		}},
		DrainDelay:   set.DrainDelay,
		StopTimeout:  set.StopTimeout,
		StartTimeout: set.StartTimeout,
		CrashLimit:   set.CrashLimit,
		CrashWindow:  set.CrashWindow,
	}
}

// waitAccepting is a readiness check that dials every address; with none,
// the child counts as ready once started.
func waitAccepting(addrs []listen.Addr) func(context.Context) error {
	if len(addrs) == 0 {
		return nil
	}
	return func(ctx context.Context) error { return listen.WaitAccepting(ctx, addrs, readyPoll) }
}

// logStack logs what was found, and the hazards that make a stop lose
// requests.
func logStack(log *zap.Logger, set *settings, st *stack) {
	var pools []string
	for _, p := range st.fpm.Pools {
		pools = append(pools, p.Name+"="+p.Listen.String())
	}
	log.Info("starting", zap.String("version", version), zap.Int("pid", os.Getpid()),
		zap.String("php_fpm", st.fpmBin), zap.String("php_fpm_config", st.fpm.Path), zap.Strings("pools", pools),
		zap.Duration("process_control_timeout", st.fpm.ProcessControlTimeout),
		zap.String("nginx", st.nginxBin), zap.String("nginx_config", st.nginx.Path),
		zap.Duration("drain_delay", set.DrainDelay), zap.Duration("stop_timeout", set.StopTimeout))
}

// newLogger builds the zap logger the settings ask for. Sampling is off:
// every lifecycle event is logged.
func newLogger(set *settings, out io.Writer) *zap.Logger {
	var enc zapcore.Encoder
	if set.LogFormat == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.TimeKey = "time"
		enc = zapcore.NewJSONEncoder(ec)
	}
	level, _ := zapcore.ParseLevel(set.LogLevel) // validated already
	core := zapcore.NewCore(enc, zapcore.AddSync(out), level)
	return zap.New(core).Named("lnmp-init")
}

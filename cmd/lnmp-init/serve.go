package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lnmp-init/lnmp-init/childlog"
	"github.com/lnmp-init/lnmp-init/health"
	"github.com/lnmp-init/lnmp-init/metrics"
	"github.com/lnmp-init/lnmp-init/procfile"
	"github.com/lnmp-init/lnmp-init/procs"
	"github.com/lnmp-init/lnmp-init/reload"
	"github.com/lnmp-init/lnmp-init/stack"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// serve is lnmp-init as PID 1.
func serve(args []string, stdout, stderr io.Writer) int {
	// First of all: the kernel drops signals to PID 1 that have no handler.
	r := &running{intake: procs.Notify()}
	defer r.stop()
	tuneRuntime()
	set, rest, err := parseSettings("lnmp-init", args, stdout, nil)
	if err == nil && len(rest) > 0 {
		err = &usageError{fmt.Sprintf("unexpected argument %q; see lnmp-init --help", rest[0])}
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	r.log = newLogger(set, stderr)
	// The reaper: the only waiter for children, running before anything
	// is started (php-fpm -t and nginx -t included).
	reaper := procs.NewReaper(256)
	r.startReaper(reaper, func(err error) { r.log.Error("reaping failed", zap.Error(err)) })
	opts := set.stackOptions()
	tasks, err := stack.PreStartTasks(opts)
	if err != nil {
		return exitCode(stderr, settingErrorOf(err))
	}
	// Opened before any child starts: a taken port is bad input, not a
	// probe that fails later.
	var probes net.Listener
	if set.HealthAddr != "" {
		if probes, err = health.Listen(set.HealthAddr); err != nil {
			return exitCode(stderr, settingError("health-addr", "%v", err))
		}
	}
	if r.stdin, err = os.Open(os.DevNull); err != nil {
		return exitCode(stderr, fmt.Errorf("open %s for the children: %w", os.DevNull, err))
	}
	r.out = childLogs(set, append([]string{"php-fpm", "nginx"}, taskNames(tasks)...))
	if err := procs.BecomeSubreaper(); err != nil {
		r.log.Warn("cannot become a subreaper; orphans of the children will not be reaped", zap.Error(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancelBackground = cancel
	if probes != nil {
		srv := &health.Server{Status: r.probed.status, Metrics: http.HandlerFunc(r.probed.metrics), Log: r.log}
		r.background.Go(func() { srv.Serve(ctx, probes) })
	}

	// The pre-start tasks run first, before the configs and the Procfile
	// are read: a task may write them (templates rendered from the
	// environment), and what it writes is what the servers start with.
	if len(tasks) > 0 {
		logEnvWarnings(r.log)
		if res := r.runTasks(stack.TaskSupervisor(tasks, opts.Timing), reaper); res.Code != 0 || res.Reason != "" {
			return res.Code // failed, or stopped by a signal
		}
		opts.PreStart = ""
	}

	st, err := stack.Discover(opts, func(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
		return reaper.Run(ctx, cmd)
	})
	if err != nil {
		return exitCode(stderr, settingErrorOf(err))
	}
	r.stack = st // closed at the end: the runtime directory goes
	// Held before nginx starts, until lnmp-init ends: the php-fpm
	// container waits for it.
	if r.peer, err = st.HoldPeer(); err != nil {
		return exitCode(stderr, settingErrorOf(err))
	}
	// The input is good: from here on lnmp-init logs.
	st.Log(r.log, zap.String("version", version), zap.Int("pid", os.Getpid()))
	if len(tasks) == 0 {
		logEnvWarnings(r.log)
	}
	if _, err := st.PrepareRuntime(); err != nil {
		r.log.Error("a reload that passes validation and still fails would take the servers down", zap.Error(err))
	}
	if set.ChildLogs == "raw" && r.out.Relayed() {
		r.log.Info("stdout or stderr cannot be reopened by the children (a pipe of another user); relaying their output")
	}
	if probes != nil {
		r.log.Info("probes listening", zap.String("addr", probes.Addr().String()))
	}
	return r.serve(ctx, set, st, reaper)
}

// runTasks runs the pre-start tasks under a supervisor of their own, which
// the probes answer from meanwhile (not ready, live), to its end.
func (r *running) runTasks(cfg supervisor.Config, reaper *procs.Reaper) supervisor.Result {
	r.log.Info("running the pre-start tasks before reading the configs", zap.Int("tasks", len(cfg.Tasks)))
	sup := supervisor.New(cfg, supervisor.Deps{
		Launcher: supervisor.ReaperLauncher{Reaper: reaper, Stdin: r.stdin, Output: r.out.Files},
		Host:     supervisor.OSHost{},
		Signals:  r.intake.Control,
		Orphans:  reaper.Orphans(),
		Log:      r.log,
	})
	r.probed.set(sup, nil)
	return sup.Run()
}

func taskNames(tasks []procfile.Task) []string {
	var names []string
	for _, t := range tasks {
		names = append(names, t.Name)
	}
	return names
}

// serve wires the running parts, each in its own block, runs the
// supervisor to its end and returns lnmp-init's exit code.
func (r *running) serve(ctx context.Context, set *settings, st *stack.Stack, reaper *procs.Reaper) int {
	log := r.log
	cfg := st.Supervisor(log)
	for _, h := range hazards(set, st, cfg) {
		log.Warn(h)
	}
	if set.Only == "php-fpm" && set.PeerLock == "" {
		log.Warn("php-fpm runs alone with no --peer-lock: unless it is a native sidecar (stopped after nginx's container), it may stop while nginx still sends")
	}
	// The supervisor, and the metrics that observe it.
	var sup *supervisor.Supervisor
	collectors := serverCollectors(log, set, st)
	if r.out.Relayed() {
		collectors = append(collectors, metrics.ChildLogCollector{Counts: r.out.Counts})
	}
	mx := metrics.New(childNames(cfg), func() *supervisor.Status { return sup.Status() }, collectors...)
	reloadAsks := make(chan struct{}, 1)
	sup = supervisor.New(cfg, supervisor.Deps{
		Launcher: supervisor.ReaperLauncher{Reaper: reaper, Stdin: r.stdin, Output: r.out.Files},
		Host:     supervisor.OSHost{},
		Signals:  r.intake.Control,
		Orphans:  reaper.Orphans(),
		Log:      log,
		Observer: mx,
		Reload:   reloadAsks,
	})

	// Hot reload: the reloader stops taking changes when the stop begins.
	{
		reloadCtx, endReloads := context.WithCancel(ctx)
		r.background.Go(func() {
			defer endReloads()
			select {
			case <-sup.Stopping():
			case <-ctx.Done():
			}
		})
		changes := make(chan reload.Change)
		reloader := &reload.Reloader{Targets: st.ReloadTargets(), Supervisor: sup, Log: log, Done: mx.ReloadDone}
		r.background.Go(func() { reloader.Run(reloadCtx, changes, reloadAsks) })
		if set.HotReload {
			baseline := st.Baseline(log) // before the children read their configs
			r.background.Go(func() { st.Watch(reloadCtx, log, baseline, changes) })
		} else {
			log.Info("hot reload is off (--hot-reload=false); SIGHUP still reloads")
		}
	}

	// Probes and metrics answer from this supervisor from now on.
	r.probed.set(sup, mx.Handler())
	return sup.Run().Code
}

// running is what serve started beside the supervisor, so that stop can
// end it.
type running struct {
	intake *procs.Intake
	log    *zap.Logger
	stdin  *os.File       // /dev/null, the children's stdin
	out    *childlog.Logs // the children's stdout and stderr
	stack  *stack.Stack
	peer   io.Closer // the peer lock of an nginx side
	probed probed    // what the probes and /metrics answer from

	cancelBackground context.CancelFunc
	background       sync.WaitGroup // the reloader, the config watcher, the probes

	stopReaping context.CancelFunc
	reaping     sync.WaitGroup
}

func (r *running) startReaper(reaper *procs.Reaper, report func(error)) {
	ctx, cancel := context.WithCancel(context.Background())
	r.stopReaping = cancel
	r.reaping.Go(func() { reaper.Loop(ctx, r.intake.Child, report) })
}

// stop ends what serve started, in the order things stop. The supervisor
// has returned (or never ran), so every child is gone.
func (r *running) stop() {
	// 1. The reloader, the config watcher and the probes: after them
	// nothing starts a command any more.
	if r.cancelBackground != nil {
		r.cancelBackground()
		r.background.Wait()
	}
	// 2. The reaper, once nothing is left to wait for.
	if r.stopReaping != nil {
		r.stopReaping()
		r.reaping.Wait()
	}
	// 3. The children's relayed output, now that no child can write more,
	// and the copies of the last good configs, which none reads any more.
	if r.out != nil && !r.out.Close(outputFlushWait) {
		r.log.Warn("some of the children's last output was not written", zap.Duration("waited", outputFlushWait))
	}
	if r.stdin != nil {
		_ = r.stdin.Close()
	}
	if r.stack != nil {
		if err := r.stack.Close(); err != nil {
			r.log.Warn("cannot remove lnmp-init's runtime directory", zap.Error(err))
		}
	}
	// 4. The peer lock: nginx is gone, the php-fpm side may stop.
	if r.peer != nil {
		_ = r.peer.Close()
	}
	// 5. lnmp-init's own log.
	if r.log != nil {
		_ = r.log.Sync()
	}
	// 6. The signal handlers, last: until here a signal must not kill PID 1.
	r.intake.Stop()
}

// outputFlushWait bounds how long lnmp-init waits, at exit, for the last
// lines of its children to be written.
const outputFlushWait = time.Second

// childLogs carries the children's output as --child-logs says, to the
// very files lnmp-init's own log writes to.
func childLogs(set *settings, names []string) *childlog.Logs {
	mode, _ := childlog.ParseMode(set.ChildLogs) // validated already
	format := childlog.JSON
	if set.LogFormat == "console" {
		format = childlog.Console
	}
	return childlog.New(os.Stdout, os.Stderr, childlog.Options{Mode: mode, Format: format, Names: names})
}

// stackNames are the names of every child and task of st.
func stackNames(st *stack.Stack) []string {
	var names []string
	if st.FPM != nil {
		names = append(names, "php-fpm")
	}
	if st.Nginx != nil {
		names = append(names, "nginx")
	}
	for _, p := range st.Programs {
		names = append(names, p.Name)
	}
	for _, t := range st.Tasks {
		names = append(names, t.Name)
	}
	return names
}

func childNames(cfg supervisor.Config) []string {
	var names []string
	for _, c := range cfg.Children {
		names = append(names, c.Name)
	}
	return names
}

// stackOptions are the settings the stack is built from.
func (s *settings) stackOptions() stack.Options {
	return stack.Options{
		PhpFpmBin: s.PhpFpmBin, PhpFpmConfig: s.PhpFpmConfig, NginxBin: s.NginxBin, NginxConfig: s.NginxConfig,
		Watch: s.Watch, Procfile: s.Procfile, PreStart: s.PreStart, Only: s.Only, PeerLock: s.PeerLock,
		Timing: stack.Timing{DrainDelay: s.DrainDelay, StopTimeout: s.StopTimeout, StartTimeout: s.StartTimeout,
			CrashLimit: s.CrashLimit, CrashWindow: s.CrashWindow, HangTimeout: s.HangTimeout},
	}
}

// settingErrorOf names the flag and variable of a stack.SettingError.
func settingErrorOf(err error) error {
	var se *stack.SettingError
	if errors.As(err, &se) {
		return settingError(se.Setting, "%v", se.Err)
	}
	return err
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
		// "drain_delay":"5s", not a bare 5 that says no unit.
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	level, _ := zapcore.ParseLevel(set.LogLevel) // validated already
	core := zapcore.NewCore(enc, zapcore.AddSync(out), level)
	return zap.New(core).Named("lnmp-init")
}

// probed is what the probes and /metrics answer from: the supervisor of
// the pre-start tasks while they run, then the servers'. Before either
// exists, and while the tasks run, /metrics answers 503.
type probed struct {
	current atomic.Pointer[probedState]
}

type probedState struct {
	sup     *supervisor.Supervisor
	metrics http.Handler // nil while there are none
}

func (p *probed) set(sup *supervisor.Supervisor, metrics http.Handler) {
	p.current.Store(&probedState{sup: sup, metrics: metrics})
}

// status is the current supervisor's, or before there is one: starting,
// live, not ready.
func (p *probed) status() *supervisor.Status {
	if st := p.current.Load(); st != nil {
		return st.sup.Status()
	}
	return &supervisor.Status{Phase: "starting", Live: true}
}

func (p *probed) metrics(w http.ResponseWriter, req *http.Request) {
	if st := p.current.Load(); st != nil && st.metrics != nil {
		st.metrics.ServeHTTP(w, req)
		return
	}
	http.Error(w, "lnmp-init is running its pre-start tasks; no metrics yet", http.StatusServiceUnavailable)
}

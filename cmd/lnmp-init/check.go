package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/stack"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// check is `lnmp-init check`: validate the configs, print what lnmp-init
// would run and the stop plan against the grace period, and exit 1 when
// something would lose requests or fail.
func check(args []string, stdout, stderr io.Writer) int {
	grace, after, warnOnly := 30*time.Second, time.Duration(0), false
	set, rest, err := parseSettings("lnmp-init check", args, stdout, func(fs *flag.FlagSet) {
		fs.DurationVar(&grace, "grace", grace, "the orchestrator's kill timeout (Kubernetes terminationGracePeriodSeconds)")
		fs.DurationVar(&after, "sidecar-after", after, "with --only=php-fpm as a native sidecar: the longest the nginx container's stop takes (its --stop-timeout); the sidecar's stop begins only after it")
		fs.BoolVar(&warnOnly, "warn-only", warnOnly, "report problems as warnings and exit 0")
	})
	if err == nil && len(rest) > 0 {
		err = &usageError{fmt.Sprintf("check: unexpected argument %q", rest[0])}
	}
	if err == nil && after < 0 {
		err = &usageError{fmt.Sprintf("--sidecar-after: must be >= 0, got %v", after)}
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	// No reaper runs here: the commands are waited for the usual way.
	run := func(_ context.Context, cmd *exec.Cmd) ([]byte, error) { return cmd.CombinedOutput() }
	st, err := stack.Discover(set.stackOptions(), run)
	if err != nil {
		return exitCode(stderr, settingErrorOf(err))
	}
	fpmErr, nginxErr := validate(st, run)
	var problems []string
	for _, e := range []error{fpmErr, nginxErr} {
		if e != nil {
			problems = append(problems, e.Error()+": fix the config; lnmp-init would exit at start")
		}
	}
	cfg := st.Supervisor(zap.NewNop())
	printFound(stdout, st, fpmErr, nginxErr)
	printPrograms(stdout, st)
	if set.HotReload {
		var iniFile string
		var scanDirs []string
		if st.FPM != nil {
			iniFile, scanDirs, _ = st.FPM.IniPaths(context.Background())
		}
		for _, g := range st.WatchGroups(iniFile, scanDirs) {
			fmt.Fprintf(stdout, "watched  %s reloads on %s\n", g.Name, strings.Join(g.Paths, ", "))
		}
	}
	printMetricsSources(stdout, set, st)
	printPlan(stdout, cfg, st, grace, after)
	problems = append(problems, hazards(set, st, cfg)...)
	near, foreign := envWarnings()
	problems = append(problems, near...)
	if len(foreign) > 0 {
		fmt.Fprintf(stdout, "env      %s: no lnmp-init setting, left alone\n", strings.Join(foreign, ", "))
	}
	if set.Only == "php-fpm" && set.PeerLock == "" && after == 0 {
		problems = append(problems, "php-fpm runs alone (--only=php-fpm) with nothing to order its stop after nginx's: in a pod whose containers get SIGTERM together it may stop while nginx still sends. Set --peer-lock (LNMP_PEER_LOCK) to a file in an emptyDir both containers mount (and the same on the nginx side), or run it as a native sidecar and check it with --sidecar-after")
	}
	if end := after + set.StopTimeout; end+time.Second > grace {
		problems = append(problems, fmt.Sprintf("--stop-timeout (%s) %v%s does not end before the kill at --grace %v: set terminationGracePeriodSeconds to at least %d, or lower --stop-timeout",
			envName("stop-timeout"), set.StopTimeout, sidecarNote(after), grace, int((end+time.Second+time.Second-1)/time.Second)))
	}
	if len(problems) == 0 {
		fmt.Fprintln(stdout, "\nOK: no problem found")
		return 0
	}
	word := "PROBLEM"
	if warnOnly {
		word = "WARNING"
	}
	fmt.Fprintln(stdout)
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %s\n", word, p)
	}
	if warnOnly {
		return 0
	}
	return 1
}

func sidecarNote(after time.Duration) string {
	if after == 0 {
		return ""
	}
	return fmt.Sprintf(" after the nginx container's %v (--sidecar-after)", after)
}

// validate runs php-fpm -t and nginx -t for the servers that run here.
// They create the pid files, logs and temp directories they name; a check
// run as root must leave none behind for a later non-root start to trip
// over, so what was not there before goes again.
func validate(st *stack.Stack, run func(context.Context, *exec.Cmd) ([]byte, error)) (fpmErr, nginxErr error) {
	ctx := context.Background()
	var writes []string
	if st.FPM != nil {
		writes = append(writes, st.FPM.Config().TestWrites(st.FPM.Prefix)...)
	}
	if st.Nginx != nil {
		writes = append(writes, st.Nginx.Config().TestWrites(ctx, nginx.Runner(run), st.Nginx.Bin)...)
	}
	created := absent(writes)
	defer removeCreated(created)
	if st.FPM != nil {
		fpmErr = st.FPM.Validate(ctx)
	}
	if st.Nginx != nil {
		nginxErr = st.Nginx.Validate(ctx)
	}
	return fpmErr, nginxErr
}

// absent returns those of paths that do not exist.
func absent(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}

// removeCreated removes those of paths that exist now: files, and
// directories that are empty.
func removeCreated(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p) // a non-empty directory stays; so does what cannot be removed
	}
}

// hazards lists what would make a stop cut requests or overrun its
// timeout, each saying what to change. serve logs them as warnings.
func hazards(set *settings, st *stack.Stack, cfg supervisor.Config) []string {
	var out []string
	if st.FPM != nil {
		fpm := st.FPM.Config()
		if fpm.ProcessControlTimeout <= 0 {
			out = append(out, fmt.Sprintf("php-fpm's process_control_timeout is %v, so its graceful stop cuts every in-flight request: set process_control_timeout (e.g. 20s, your slowest request) in the [global] section of %s", fpm.ProcessControlTimeout, fpm.Path))
		} else {
			for _, p := range fpm.Pools {
				if p.RequestTerminateTimeout > fpm.ProcessControlTimeout {
					out = append(out, fmt.Sprintf("pool %s lets a request run %v (request_terminate_timeout, %s) but a stop waits only %v (process_control_timeout) for it: requests between the two are cut at every rollout; raise process_control_timeout or lower request_terminate_timeout",
						p.Name, p.RequestTerminateTimeout, p.Where, fpm.ProcessControlTimeout))
				}
			}
		}
	}
	if !cfg.PlanFits() {
		need := cfg.StopTimeoutNeeded()
		out = append(out, fmt.Sprintf("the stop plan needs %v (--drain-delay %v, process_control_timeout + %v for in-flight requests, 1s for php-fpm, %v for SIGTERM and SIGKILL) but --stop-timeout (%s) is %v: raise it to %v, or lower --drain-delay or process_control_timeout",
			need, set.DrainDelay, phpfpm.StopMargin, supervisor.EscalationReserve, envName("stop-timeout"), set.StopTimeout, need))
	}
	return out
}

func printFound(w io.Writer, st *stack.Stack, fpmErr, nginxErr error) {
	if st.FPM != nil {
		fpm := st.FPM.Config()
		fmt.Fprintf(w, "php-fpm  %s\n  config   %s: %s\n  files    %s\n", st.FPM.Bin, fpm.Path, verdict(fpmErr), strings.Join(fpm.Files, ", "))
		for _, p := range fpm.Pools {
			ping := "no ping.path: readiness asks for a missing script"
			if p.PingPath != "" {
				ping = "ping.path " + p.PingPath
			}
			limit := "no request_terminate_timeout: a request may run until the stop cuts it"
			if p.RequestTerminateTimeout > 0 {
				limit = "request_terminate_timeout " + p.RequestTerminateTimeout.String()
			}
			fmt.Fprintf(w, "  pool     %s on %s (%s; %s)\n", p.Name, p.Listen, ping, limit)
		}
		fmt.Fprintf(w, "  process_control_timeout %v\n", fpm.ProcessControlTimeout)
	}
	if st.Nginx != nil {
		ngx := st.Nginx.Config()
		fmt.Fprintf(w, "nginx    %s\n  config   %s: %s\n  files    %s\n", st.Nginx.Bin, ngx.Path, verdict(nginxErr), strings.Join(ngx.Files, ", "))
		var listens []string
		for _, l := range ngx.Listens {
			listens = append(listens, l.String())
		}
		fmt.Fprintf(w, "  listens  %s\n", strings.Join(listens, ", "))
		wst := "unset (no bound of its own)"
		if ngx.WorkerShutdownTimeout > 0 {
			wst = ngx.WorkerShutdownTimeout.String()
		}
		fmt.Fprintf(w, "  worker_shutdown_timeout %s\n", wst)
	}
}

// printPrograms lists the Procfile's programs and the pre-start tasks, and
// whether a shell runs each.
func printPrograms(w io.Writer, st *stack.Stack) {
	for _, t := range st.Tasks {
		fmt.Fprintf(w, "task     %s: %s (%s)\n", t.Name, t.Text, t.How())
	}
	for _, p := range st.Programs {
		fmt.Fprintf(w, "program  %s: %s (%s; stop with %s, on-crash=%s, on-exit-0=%s)\n",
			p.Name, p.Text, p.How(), unixSignalName(p.StopSignal), p.OnCrash, p.OnExit0)
	}
}

func verdict(err error) string {
	if err != nil {
		return "INVALID"
	}
	return "valid"
}

// printPlan prints the worst-case stop, phase by phase; after is the time
// a native sidecar waits for the main container before its own stop.
func printPlan(w io.Writer, cfg supervisor.Config, st *stack.Stack, grace, after time.Duration) {
	fmt.Fprintf(w, "\nStop plan, worst case, in seconds after SIGTERM (grace period %v):\n", grace)
	if after > 0 {
		fmt.Fprintf(w, "  %5.1f - %5.1f  the nginx container stops first (native sidecar; --sidecar-after)\n", 0.0, after.Seconds())
	}
	for _, step := range cfg.Plan() {
		fmt.Fprintf(w, "  %5.1f - %5.1f  %s\n", (after + step.Start).Seconds(), (after + step.End).Seconds(), describe(step, st))
	}
	end := after + cfg.StopTimeout
	fits := "ends before the grace period"
	if end+time.Second > grace {
		fits = "DOES NOT end a second before the grace period"
	}
	fmt.Fprintf(w, "  %5.1f          lnmp-init has exited (--stop-timeout): %s\n", end.Seconds(), fits)
}

func describe(step supervisor.PlanStep, st *stack.Stack) string {
	switch step.Name {
	case "drain":
		return "drain: not ready, still serving (--drain-delay); programs get their stop signal"
	case "peer":
		return "php-fpm waits until the nginx side has stopped (--peer-lock)"
	case "nginx":
		ngx := st.Nginx.Config()
		switch {
		case ngx.WorkerShutdownTimeout > 0:
			return fmt.Sprintf("nginx: SIGQUIT, finishes its requests (worker_shutdown_timeout %v + %v, or the request budget)", ngx.WorkerShutdownTimeout, nginx.StopMargin)
		case st.FPM == nil:
			return "nginx: SIGQUIT, finishes its requests (no bound of its own: until the reserve)"
		}
		return fmt.Sprintf("nginx: SIGQUIT, finishes its requests (request budget: process_control_timeout %v + %v)", st.FPM.Config().ProcessControlTimeout, phpfpm.StopMargin)
	case "php-fpm":
		return "php-fpm: SIGQUIT, workers finish (the rest of the request budget, at least 1s), then leftover processes"
	case "escalation":
		return "reserve: SIGTERM, then SIGKILL, to anything left"
	}
	return step.Name
}

// unixSignalName names a signal as kill -l does, with SIG in front.
func unixSignalName(sig unix.Signal) string { return unix.SignalName(sig) }

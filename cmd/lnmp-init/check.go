package main

import (
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// check is `lnmp-init check`: validate both configs, print what lnmp-init
// would run and the stop plan against the grace period, and exit 1 when
// something would lose requests or fail.
func check(args []string, stdout, stderr io.Writer) int {
	grace, warnOnly := 30*time.Second, false
	set, rest, err := parseSettings("lnmp-init check", args, stdout, func(fs *flag.FlagSet) {
		fs.DurationVar(&grace, "grace", grace, "the orchestrator's kill timeout (Kubernetes terminationGracePeriodSeconds)")
		fs.BoolVar(&warnOnly, "warn-only", warnOnly, "report problems as warnings and exit 0")
	})
	if err == nil && len(rest) > 0 {
		err = &usageError{fmt.Sprintf("check: unexpected argument %q", rest[0])}
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	st, err := discover(set)
	if err != nil {
		return exitCode(stderr, err)
	}
	run := func(cmd *exec.Cmd) ([]byte, error) { return cmd.CombinedOutput() }
	var problems []string
	fpmErr := phpfpm.Validate(run, st.fpmBin, st.fpm.Path)
	nginxErr := nginx.Validate(run, st.nginxBin, st.nginx)
	for _, e := range []error{fpmErr, nginxErr} {
		if e != nil {
			problems = append(problems, e.Error()+": fix the config; lnmp-init would exit at start")
		}
	}
	cfg := supervisorConfig(set, st)
	printFound(stdout, st, fpmErr, nginxErr)
	if set.HotReload {
		iniFile, scanDirs, _ := phpfpm.IniPaths(run, st.fpmBin)
		for _, g := range watchGroups(set, st, iniFile, scanDirs) {
			fmt.Fprintf(stdout, "watched  %s reloads on %s\n", g.Name, strings.Join(g.Paths, ", "))
		}
	}
	printPlan(stdout, cfg, st, grace)
	printMetricsSources(stdout, set, st)
	problems = append(problems, hazards(set, st, cfg)...)
	if set.StopTimeout+time.Second > grace {
		problems = append(problems, fmt.Sprintf("--stop-timeout (%s) %v does not end before the kill at --grace %v: set terminationGracePeriodSeconds to at least %d, or lower --stop-timeout",
			envName("stop-timeout"), set.StopTimeout, grace, int((set.StopTimeout+time.Second+time.Second-1)/time.Second)))
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

// hazards lists what would make a stop cut requests or overrun its
// timeout, each saying what to change. serve logs them as warnings.
func hazards(set *settings, st *stack, cfg supervisor.Config) []string {
	var out []string
	if st.fpm.ProcessControlTimeout == 0 {
		out = append(out, fmt.Sprintf("php-fpm's process_control_timeout is 0, so its graceful stop cuts every in-flight request: set process_control_timeout (e.g. 20s, your slowest request) in the [global] section of %s", st.fpm.Path))
	}
	if !cfg.Fits() {
		out = append(out, fmt.Sprintf("the stop plan needs %v (--drain-delay %v, process_control_timeout + %v for in-flight requests, 1s for php-fpm, %v for SIGTERM and SIGKILL) but --stop-timeout (%s) is %v: raise it to %v, or lower --drain-delay or process_control_timeout",
			cfg.Need(), set.DrainDelay, phpfpm.StopMargin, supervisor.Reserve, envName("stop-timeout"), set.StopTimeout, cfg.Need()))
	}
	return out
}

func printFound(w io.Writer, st *stack, fpmErr, nginxErr error) {
	fmt.Fprintf(w, "php-fpm  %s\n  config   %s: %s\n  files    %s\n", st.fpmBin, st.fpm.Path, verdict(fpmErr), strings.Join(st.fpm.Files, ", "))
	for _, p := range st.fpm.Pools {
		ping := "no ping.path: readiness asks for a missing script"
		if p.PingPath != "" {
			ping = "ping.path " + p.PingPath
		}
		fmt.Fprintf(w, "  pool     %s on %s (%s)\n", p.Name, p.Listen, ping)
	}
	fmt.Fprintf(w, "  process_control_timeout %v\n", st.fpm.ProcessControlTimeout)
	fmt.Fprintf(w, "nginx    %s\n  config   %s: %s\n  files    %s\n", st.nginxBin, st.nginx.Path, verdict(nginxErr), strings.Join(st.nginx.Files, ", "))
	var listens []string
	for _, l := range st.nginx.Listens {
		listens = append(listens, l.String())
	}
	fmt.Fprintf(w, "  listens  %s\n", strings.Join(listens, ", "))
	wst := "unset (no bound of its own)"
	if st.nginx.WorkerShutdownTimeout > 0 {
		wst = st.nginx.WorkerShutdownTimeout.String()
	}
	fmt.Fprintf(w, "  worker_shutdown_timeout %s\n", wst)
}

func verdict(err error) string {
	if err != nil {
		return "INVALID"
	}
	return "valid"
}

// printPlan prints the worst-case stop, phase by phase.
func printPlan(w io.Writer, cfg supervisor.Config, st *stack, grace time.Duration) {
	fmt.Fprintf(w, "\nStop plan, worst case, in seconds after SIGTERM (grace period %v):\n", grace)
	for _, step := range cfg.Plan() {
		fmt.Fprintf(w, "  %5.1f - %5.1f  %s\n", step.Start.Seconds(), step.End.Seconds(), describe(step, st))
	}
	end := cfg.StopTimeout
	fits := "ends before the grace period"
	if end+time.Second > grace {
		fits = "DOES NOT end a second before the grace period"
	}
	fmt.Fprintf(w, "  %5.1f          lnmp-init has exited (--stop-timeout): %s\n", end.Seconds(), fits)
}

func describe(step supervisor.PlanStep, st *stack) string {
	switch step.Name {
	case "drain":
		return "drain: not ready, still serving (--drain-delay)"
	case "nginx":
		if st.nginx.WorkerShutdownTimeout > 0 {
			return fmt.Sprintf("nginx: SIGQUIT, finishes its requests (worker_shutdown_timeout %v + %v, or the request budget)", st.nginx.WorkerShutdownTimeout, nginx.StopMargin)
		}
		return fmt.Sprintf("nginx: SIGQUIT, finishes its requests (request budget: process_control_timeout %v + %v)", st.fpm.ProcessControlTimeout, phpfpm.StopMargin)
	case "php-fpm":
		return "php-fpm: SIGQUIT, workers finish (the rest of the request budget, at least 1s), then leftover processes"
	case "escalation":
		return "reserve: SIGTERM, then SIGKILL, to anything left"
	}
	return step.Name
}

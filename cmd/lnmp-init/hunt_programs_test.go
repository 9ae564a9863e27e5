package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// startProcfile writes procfile into sb's directory and starts lnmp-init
// with it, probes on a free address; it waits until PHP is served.
func startProcfile(t *testing.T, sb *lnmptest.Sandbox, procfile string, opt lnmptest.RunOptions, args ...string) (*lnmptest.Init, string) {
	t.Helper()
	path := filepath.Join(sb.Dir(), "Procfile")
	if err := os.WriteFile(path, []byte(procfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return startProbed(t, sb, opt, append([]string{"--procfile=" + path}, args...)...)
}

// waitProcs waits until n live descendants of in match, and returns them.
func waitProcs(t *testing.T, in *lnmptest.Init, what string, n int, match func(p lnmptest.Proc) bool) []lnmptest.Proc {
	t.Helper()
	var found []lnmptest.Proc
	if err := lnmptest.WaitUntil(upWithin, what, func() bool {
		found = found[:0]
		for _, p := range in.Descendants() {
			if p.State != "Z" && match(p) {
				found = append(found, p)
			}
		}
		return len(found) >= n
	}); err != nil {
		t.Fatalf("%v: %+v", err, in.Descendants())
	}
	return found
}

// TestHuntProgramStopTimeoutBoundsItsChildren: a program whose own process
// ends on SIGTERM but whose child ignores it (a shell starting a worker
// that traps TERM, a supervisor-like script, `php artisan horizon` with its
// own children). docs/programs.md: stop-timeout is "how long the stop waits
// for it after the signal... Then SIGTERM, and SIGKILL a second later".
// With stop-timeout=2s the stop must be over within seconds.
//
// Fails on 702a955: once the program's own pid is gone its stop-timeout is
// forgotten; the child left in its group is waited for as a leftover of
// php-fpm, until php-fpm's request budget (process_control_timeout 20 s +
// 2 s) is used up, then SIGTERM and SIGKILL: the stop takes 23 s with
// nothing in flight ("the stop took 23s"). (It also exited 143 rather than
// 137 until bd44dec; see TestHuntStopThatNeededSIGKILLExits137.)
func TestHuntProgramStopTimeoutBoundsItsChildren(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, _ := startProcfile(t, sb, "# lnmp: stop-timeout=2s\n"+
		`stubborn: sh -c '(trap "" TERM; exec sleep 1001) & exec sleep 1002'`+"\n",
		lnmptest.RunOptions{}, "--drain-delay=0s", "--stop-timeout=60s")
	waitProcs(t, in, "the program and its child", 2, func(p lnmptest.Proc) bool { return p.Comm == "sleep" })
	start := time.Now()
	if err := in.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := in.Wait(90 * time.Second)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stop with a program's child ignoring SIGTERM: %v, exit code %d", took.Round(time.Millisecond), code)
	if took > 20*time.Second {
		t.Errorf("the stop took %v; the program's stop-timeout is 2s and nothing was in flight", took.Round(time.Second))
	}
}

// TestHuntProcfileUnreadablePaths: --procfile naming /dev/zero, a FIFO (a
// log pipe, /dev/stdin of a shell, a typo) is bad input like the config
// paths of TestFaultUnreadableConfigPaths: exit 2 and one line naming
// --procfile and LNMP_PROCFILE within seconds, with no hang and no growing
// memory.
//
// Fails on 702a955: procfile.Load reads with os.ReadFile rather than
// configfile.Read. /dev/zero is read to the end that never comes (RSS past
// the bound, killed); a FIFO blocks in open forever, and SIGTERM does
// nothing since the supervisor has not started ("killed: still running
// after 5s").
func TestHuntProcfileUnreadablePaths(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "Procfile.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	pool := filepath.Join(dir, "php-fpm.conf")
	ngx := filepath.Join(dir, "nginx.conf")
	for path, text := range map[string]string{pool: "[www]\nlisten = 127.0.0.1:9\n", ngx: "events {}\nhttp {}\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/dev/zero", fifo} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			code, out, killed := runBounded(t, 5*time.Second, nil, "--php-fpm-bin=/bin/true", "--nginx-bin=/bin/true",
				"--php-fpm-config="+pool, "--nginx-config="+ngx, "--health-addr=", "--procfile="+path)
			if killed != "" {
				t.Fatalf("killed: %s; output:\n%s", killed, out)
			}
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			oneLine(t, out, "--procfile", "LNMP_PROCFILE")
		})
	}
}

// pipedWorkerPHP is a queue worker that logs to stdout, as artisan
// queue:work does ("Processing ...", "Processed ..."): SIGTERM lets the
// job in progress finish, then it says goodbye and exits 0.
const pipedWorkerPHP = `<?php
pcntl_async_signals(true);
$stop = false;
pcntl_signal(SIGTERM, function () use (&$stop) { $stop = true; });
while (!$stop) {
    echo "job start\n";
    $end = microtime(true) + 2;
    while (microtime(true) < $end) { usleep(10000); }
    echo "job done\n";
}
echo "worker bye\n";
`

// TestHuntShellProgramLosesItsStopTimeout: the shell rule runs
// `worker: cd DIR && php worker.php` (or anything with $VAR, quotes, a
// pipe) as /bin/sh -c, and Debian's dash does not exec the last command: the
// program's pid is the shell. At the stop the whole group gets SIGTERM;
// the shell dies of it at once while the PHP worker finishes its job, as
// TestProgramWorker's directly executed one does. The Procfile gives the
// worker stop-timeout=30s; its job needs 8 s. The job must finish and the
// worker say goodbye, as without the "cd".
//
// Fails on 702a955: the shell's death counts as the program's stop; the
// worker becomes a leftover, waited for only until php-fpm's request
// budget ends (process_control_timeout 2 s + 2 s here; 17 s with the
// example's 15 s), then SIGTERM and SIGKILL: the job is cut ("the job in
// progress at SIGTERM did not finish") and the exit code is 137 (143 on
// 702a955). The same worker without "cd DIR &&" passes.
func TestHuntShellProgramLosesItsStopTimeout(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	php, err := exec.LookPath("php")
	if err != nil {
		testenv.SkipOrFail(t, "needs the PHP CLI: %v", err)
	}
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{ProcessControlTimeout: 2 * time.Second})
	worker, log := filepath.Join(sb.Dir(), "worker.php"), filepath.Join(sb.Dir(), "worker.log")
	if err := os.WriteFile(worker, []byte(workerPHP), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := startProcfile(t, sb, "# lnmp: stop-timeout=30s\nworker: cd "+sb.Dir()+" && "+php+" "+worker+"\n",
		lnmptest.RunOptions{Env: []string{"JOB_MS=8000", "WORKER_LOG=" + log}}, "--drain-delay=0s", "--stop-timeout=50s")
	if err := lnmptest.WaitUntil(upWithin, "the worker's first job", func() bool {
		return countEvents(workerEvents(t, log), "start") >= 1
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // into the job
	if err := in.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, in)
	events := workerEvents(t, log)
	if countEvents(events, "start") != countEvents(events, "done") || countEvents(events, "bye") != 1 {
		t.Errorf("the job in progress at SIGTERM did not finish within the worker's stop-timeout of 30s: %q", events)
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestHuntPreStartTaskWritesTheConfig: the usual container start renders
// configs from the environment (envsubst over templates, as the official
// nginx image's entrypoint does; a PORT or an upstream name). Moving that
// script to LNMP_PRE_START is the obvious migration: docs/programs.md says
// tasks run "before php-fpm starts", so what they write is what the
// servers should start with. Two shapes: the task rewrites the pool and
// the headers the image ships, or it creates the pool (the image has
// none).
//
// Fails on 702a955, both ways. lnmp-init reads the configs before the
// tasks run. When the task rewrites them, the files no longer match what
// lnmp-init read, so php-fpm and nginx start from the copy of the image's
// stale config ("the config on disk has not served yet ... starting from
// the last config that worked", at ERROR, on every start) and are
// reloaded a moment later: the first answers after the start are the old
// config's ("env.php said 1"). When the task creates the pool, lnmp-init
// exits 2 before running it: "no pool section".
//
// Passes since 6254832 (main, written meanwhile): the tasks run before the
// configs and the Procfile are read.
func TestHuntPreStartTaskWritesTheConfig(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, creates := range []bool{false, true} {
		name := map[bool]string{false: "rewrites", true: "creates"}[creates]
		t.Run(name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			pool := filepath.Join(sb.Dir(), "www.conf.template")
			headers := filepath.Join(sb.Dir(), "headers.conf.template")
			for path, text := range map[string]string{pool: sb.PoolText(lnmptest.Pool{EnvVersion: 2}),
				headers: "add_header X-Config-Version 2 always;\n"} {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if creates {
				if err := sb.SetFpmD("www.conf", ""); err != nil {
					t.Fatal(err)
				}
			}
			task := "cp " + pool + " " + filepath.Join(sb.FpmD(), "www.conf") + " && cp " + headers + " " +
				filepath.Join(sb.ConfD(), "headers.conf")
			in := startInit(t, sb, lnmptest.RunOptions{}, "--pre-start="+task)
			var first lnmptest.Result
			if err := lnmptest.WaitUntil(upWithin, "the first PHP answer", func() bool {
				if _, alive := in.PID1(); !alive {
					return true
				}
				first = lnmptest.Fetch(sb.URL("/env.php"), time.Second)
				return first.Status == 200
			}); err != nil {
				t.Fatal(err)
			}
			assertAlive(t, in, "with a pre-start task that writes the pool")
			answers := map[string]int{}
			for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				r := lnmptest.Fetch(sb.URL("/env.php"), time.Second)
				answers[strings.TrimSpace(r.Body)+" header "+r.Header.Get("X-Config-Version")]++
			}
			if strings.TrimSpace(first.Body) != "2" || len(answers) != 1 || answers["2 header 2"] == 0 {
				t.Errorf("env.php said %q first, then %v; want only what the task wrote, 2 with header 2",
					strings.TrimSpace(first.Body), answers)
			}
		})
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// workerPHP is a queue worker for the PHP CLI: each "job" takes JOB_MS
// milliseconds, on a deadline (a signal cuts usleep short); SIGTERM lets the
// job in progress finish, then it exits 0. It logs each job's start and end
// to WORKER_LOG, and with CRASH_AFTER_MS set it dies that long after it
// starts, as a worker with a bug does.
const workerPHP = `<?php
pcntl_async_signals(true);
$stop = false;
pcntl_signal(SIGTERM, function () use (&$stop) { $stop = true; });
$log = getenv('WORKER_LOG');
$ms = (int) getenv('JOB_MS');
$crash = getenv('CRASH_AFTER_MS');
$born = microtime(true);
$note = function ($what) use ($log) { file_put_contents($log, $what . ' ' . getmypid() . ' ' . microtime(true) . "\n", FILE_APPEND | LOCK_EX); };
$note('up');
while (!$stop) {
    $note('start');
    $end = microtime(true) + $ms / 1000;
    while (microtime(true) < $end) {
        usleep(10000);
        if ($crash !== false && microtime(true) - $born > $crash / 1000) { exit(3); }
    }
    $note('done');
}
$note('bye');
exit(0);
`

// workerEvents reads the worker's log: one "what pid time" a line.
func workerEvents(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func countEvents(events []string, what string) int {
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, what+" ") {
			n++
		}
	}
	return n
}

// startWithWorker writes the worker and a Procfile into sb and starts
// lnmp-init with it, the worker's env given.
func startWithWorker(t *testing.T, sb *lnmptest.Sandbox, env []string, args ...string) (*lnmptest.Init, string, string) {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		testenv.SkipOrFail(t, "needs the PHP CLI (php8.2-cli, which php8.2-fpm depends on): %v", err)
	}
	dir := sb.Dir()
	worker, log := filepath.Join(dir, "worker.php"), filepath.Join(dir, "worker.log")
	procfile := filepath.Join(dir, "Procfile")
	for path, text := range map[string]string{
		worker:   workerPHP,
		procfile: "# lnmp: stop-timeout=20s\nworker: " + php + " " + worker + "\n",
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + freeAddr(t)
	args = append([]string{"--procfile=" + procfile, "--health-addr=" + strings.TrimPrefix(base, "http://")}, args...)
	in := startInit(t, sb, lnmptest.RunOptions{Env: append(env, "WORKER_LOG="+log)}, args...)
	return in, base, log
}

// TestProgramWorker: a PHP CLI queue worker from the Procfile starts after
// php-fpm is ready, and a SIGTERM to lnmp-init lets its job in progress
// finish while nginx drains; lnmp-init exits 0 once it is gone, and
// nothing is left.
func TestProgramWorker(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, _, log := startWithWorker(t, sb, []string{"JOB_MS=4000"}, "--drain-delay=2s", "--stop-timeout=40s")
	if err := lnmptest.WaitUntil(upWithin, "the worker's first job", func() bool {
		return countEvents(workerEvents(t, log), "start") >= 1
	}); err != nil {
		t.Fatal(err)
	}
	out := in.Output()
	if fpm, worker := strings.Index(out, `"child": "php-fpm"`), strings.Index(out, `"child": "worker"`); !strings.Contains(out, "child ready") ||
		strings.Index(out, "child ready") > strings.Index(out, `child started	{"child": "worker"`) || fpm < 0 || worker < 0 {
		t.Errorf("the worker did not start after php-fpm was ready:\n%s", out)
	}
	time.Sleep(500 * time.Millisecond) // into the job
	stopped := time.Now()
	if err := in.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// nginx still serves during the drain, while the worker finishes.
	if r := lnmptest.Fetch(sb.URL("/index.php"), 5*time.Second); r.Status != 200 {
		t.Errorf("during the drain: %d %v", r.Status, r.Err)
	}
	code := waitExit(t, in)
	events := workerEvents(t, log)
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if countEvents(events, "start") != countEvents(events, "done") || countEvents(events, "bye") != 1 {
		t.Errorf("the job in progress at SIGTERM did not finish: %q", events)
	}
	t.Logf("stopped %v after SIGTERM; worker log %q", time.Since(stopped).Round(time.Millisecond), events)
	if left := in.Descendants(); len(left) != 0 {
		t.Errorf("left behind: %+v", left)
	}
}

// TestProgramCrashLimit: a worker that crashes is restarted, until its
// crash limit ends lnmp-init with the worker's exit code.
func TestProgramCrashLimit(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, base, log := startWithWorker(t, sb, []string{"JOB_MS=100", "CRASH_AFTER_MS=300"}, "--crash-limit=3", "--crash-window=1m")
	code := waitExit(t, in)
	if code != 3 {
		t.Errorf("exit code %d, want the worker's 3", code)
	}
	if ups := countEvents(workerEvents(t, log), "up"); ups != 3 {
		t.Errorf("the worker started %d times, want 3 (a crash limit of 3)", ups)
	}
	_ = base
}

// TestProgramMetricsAndProbes: the worker is in /readyz's and /livez's
// bodies and in lnmp_child_up, and does not make lnmp-init unready.
func TestProgramMetricsAndProbes(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in, base, _ := startWithWorker(t, sb, []string{"JOB_MS=1000"})
	if err := lnmptest.WaitHTTP(base+"/readyz", 200, upWithin); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/readyz", "/livez"} {
		_, body := getStatus(base + path)
		var a struct {
			Children []struct{ Name, State string }
		}
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
		found := false
		for _, c := range a.Children {
			found = found || c.Name == "worker" && c.State == "running"
		}
		if !found {
			t.Errorf("%s does not list the worker running: %s", path, body)
		}
	}
	_, metrics := getStatus(base + "/metrics")
	if v := metricValue(metrics, `lnmp_child_up{child="worker"}`); v != "1" {
		t.Errorf(`lnmp_child_up{child="worker"} = %q, want 1`, v)
	}
	// The worker has written lines by now, which lnmp-init carried.
	if v, err := strconv.ParseFloat(metricValue(metrics, "lnmp_child_log_lines_total"), 64); err != nil || v < 1 {
		t.Errorf("lnmp_child_log_lines_total = %v (%v), want at least the worker's first line", v, err)
	}
	if v := metricValue(metrics, "lnmp_child_log_lines_dropped_total"); v != "0" {
		t.Errorf("lnmp_child_log_lines_dropped_total = %q with a reader that keeps up, want 0", v)
	}
	_ = in
}

// TestPreStartTaskFails: a failing task ends lnmp-init with its exit code
// before php-fpm starts, its output visible, tagged with its name.
func TestPreStartTaskFails(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	in := startInit(t, sb, lnmptest.RunOptions{}, "--pre-start=echo migrating", "--pre-start=sh -c 'echo no database >&2; exit 7'")
	code := waitExit(t, in)
	out := in.Output()
	if code != 7 {
		t.Errorf("exit code %d, want the task's 7", code)
	}
	for _, want := range []string{"pre-start-1 | migrating", "pre-start-2 | no database"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `child started	{"child": "php-fpm"`) {
		t.Errorf("php-fpm started after a failed task:\n%s", out)
	}
}

// TestPreStartTasksThenServe: tasks that succeed run in order, then the
// servers start; LNMP_PRE_START takes one task a line.
func TestPreStartTasksThenServe(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	mark := filepath.Join(sb.Dir(), "tasks")
	env := fmt.Sprintf("LNMP_PRE_START=sh -c 'echo one >> %s'\nsh -c 'echo two >> %s'\n", mark, mark)
	in := startInit(t, sb, lnmptest.RunOptions{Env: []string{env}})
	waitServing(t, sb)
	if b, err := os.ReadFile(mark); err != nil || string(b) != "one\ntwo\n" {
		t.Errorf("tasks wrote %q, %v; want one then two", b, err)
	}
	_ = in
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The scenario's shape, the same for every init.
const (
	workers = 40 // room for 16 slow + 16 late requests and the status probes
	// processControlTimeout lets php-fpm's graceful stop (SIGQUIT) wait for
	// running requests; at php-fpm's default of 0 it cuts them.
	processControlTimeout = 20 * time.Second
	slowRequests          = 16
	slowPage              = "/slow.php?ms=3000"
	termAfter             = 300 * time.Millisecond // SIGTERM this long after the slow requests start
	lateRequests          = 16
	lateEvery             = 100 * time.Millisecond
	requestTimeout        = 10 * time.Second
	startPoll             = 5 * time.Millisecond
	startTimeout          = 30 * time.Second
	inFlightWithin        = 5 * time.Second
	exitTimeout           = 60 * time.Second
	recoveryPoll          = 10 * time.Millisecond
	recoveryLimit         = 10 * time.Second
)

// sample is what one run of one init measured.
type sample struct {
	start      time.Duration // PID 1 started -> first 200 from /index.php
	rssKiB     int64         // PID 1's VmRSS once serving
	inFlight   int           // slow requests in flight at SIGTERM that got 200
	late       int           // requests sent after SIGTERM that got 200
	stop       time.Duration // SIGTERM -> PID 1 exited
	stopKilled bool          // PID 1 outlived exitTimeout and was SIGKILLed
	afterLast  time.Duration // last successful in-flight request -> PID 1 exited
	anyServed  bool          // afterLast means something
	recovery   time.Duration // php-fpm SIGKILLed -> /index.php answers 200 again
	recovered  bool          // false: still not 200 after recoveryLimit
	exitCode   int           // of the SIGTERM run
}

// runner runs one init at a time as PID 1 of a fresh namespace on a fresh
// sandbox.
type runner struct {
	bin     binaries
	verbose io.Writer // receives PID 1's output when -v is set, else nil
	log     io.Writer // progress and warnings
}

// measure does both runs of one init: the SIGTERM run and the crash run,
// each with its own sandbox and namespace so one cannot disturb the other.
func (r runner) measure(ctx context.Context, name string) (sample, error) {
	var s sample
	if err := r.withInit(ctx, name, sandboxOptions(), func(sb *lnmptest.Sandbox, in *lnmptest.Init, t0 time.Time) error {
		return r.sigtermRun(ctx, name, sb, in, t0, &s)
	}); err != nil {
		return s, fmt.Errorf("%s, SIGTERM run: %w", name, err)
	}
	if err := r.withInit(ctx, name, sandboxOptions(), func(sb *lnmptest.Sandbox, in *lnmptest.Init, t0 time.Time) error {
		return r.crashRun(ctx, sb, in, &s)
	}); err != nil {
		return s, fmt.Errorf("%s, crash run: %w", name, err)
	}
	return s, nil
}

// sandboxOptions is the setup every init runs on.
func sandboxOptions() lnmptest.Options {
	return lnmptest.Options{Workers: workers, ProcessControlTimeout: processControlTimeout}
}

// withInit creates a sandbox with opts, starts the init on it and hands
// both to f with the moment PID 1 was started; whatever happens, the
// namespace is killed and the sandbox removed afterwards.
func (r runner) withInit(ctx context.Context, name string, opts lnmptest.Options,
	f func(*lnmptest.Sandbox, *lnmptest.Init, time.Time) error) error {
	dir, err := os.MkdirTemp("", "lnmp-bench-")
	if err != nil {
		return fmt.Errorf("sandbox dir: %w", err)
	}
	defer os.RemoveAll(dir)
	sb, err := lnmptest.NewSandbox(dir, opts)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	argv, err := commandFor(name, sb, r.bin)
	if err != nil {
		return err
	}
	opt := lnmptest.RunOptions{}
	if r.verbose != nil {
		opt.Tee = &prefixWriter{prefix: "[" + name + "] ", w: r.verbose}
	}
	t0 := time.Now()
	in, err := lnmptest.StartInit(argv[0], argv[1:], opt)
	if err != nil {
		return err
	}
	defer in.Kill()
	if err := f(sb, in, t0); err != nil {
		return fmt.Errorf("%w\n%s", err, outputTail(in.Output(), 15))
	}
	return nil
}

// sigtermRun measures start, RSS and the SIGTERM scenario into s.
func (r runner) sigtermRun(ctx context.Context, name string, sb *lnmptest.Sandbox, in *lnmptest.Init, t0 time.Time, s *sample) error {
	first, err := pollOK(ctx, in, sb.URL("/index.php"), startPoll, startTimeout)
	if err != nil {
		return err
	}
	s.start = first.Sub(t0)
	if s.rssKiB, err = vmRSS(in.Pid()); err != nil {
		return err
	}
	fired := time.Now()
	slow := lnmptest.Fire(slowRequests, sb.URL(slowPage), 30*time.Second)
	if err := waitInFlight(ctx, sb); err != nil {
		fmt.Fprintf(r.log, "bench: %s: warning: %v; sending SIGTERM anyway\n", name, err)
	}
	if err := sleepUntil(ctx, fired.Add(termAfter)); err != nil {
		return err
	}
	termAt := time.Now()
	if err := in.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	late := fireLate(ctx, sb.URL("/index.php"))
	exitAt, code, killed, err := waitExit(ctx, in)
	if err != nil {
		return err
	}
	s.stop, s.stopKilled, s.exitCode = exitAt.Sub(termAt), killed, code
	// PID 1 is gone, so every request has ended by now or ends at once.
	s.inFlight, s.afterLast, s.anyServed = inFlightOutcome(lnmptest.Collect(slow), exitAt)
	s.late = countOK(lnmptest.Collect(late))
	return nil
}

// inFlightOutcome counts the in-flight requests that got 200 and, when any
// did, how long after the last of them PID 1 exited (negative: before).
func inFlightOutcome(results []lnmptest.Result, exitAt time.Time) (n int, afterLast time.Duration, any bool) {
	var last time.Time
	for _, res := range results {
		if ok(res) {
			n++
			if res.End.After(last) {
				last = res.End
			}
		}
	}
	if n == 0 {
		return 0, 0, false
	}
	return n, exitAt.Sub(last), true
}

func countOK(results []lnmptest.Result) int {
	n := 0
	for _, res := range results {
		if ok(res) {
			n++
		}
	}
	return n
}

// crashRun SIGKILLs php-fpm's master and workers from outside, as the OOM
// killer or a segfault would, and times how long until PHP answers again.
func (r runner) crashRun(ctx context.Context, sb *lnmptest.Sandbox, in *lnmptest.Init, s *sample) error {
	url := sb.URL("/index.php")
	if _, err := pollOK(ctx, in, url, startPoll, startTimeout); err != nil {
		return err
	}
	// The first 200 can come while the master still forks workers (php-fpm
	// -D returns before it does): a worker forked after the listing would
	// survive and keep serving, so wait for the whole pool first.
	var victims []lnmptest.Proc
	if err := lnmptest.WaitUntil(5*time.Second, "php-fpm's master and all its workers", func() bool {
		victims = in.PHPFPM()
		return len(victims) >= workers+1
	}); err != nil {
		return fmt.Errorf("%w: found %d php-fpm processes", err, len(victims))
	}
	killedAt := time.Now()
	for _, p := range victims {
		// A victim may already be gone; the point is that none survives.
		_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	}
	// Until the dead workers have closed the listening socket, a request can
	// still be accepted by one of them; wait for that before polling.
	if err := lnmptest.WaitUntil(time.Second, "killed php-fpm processes to die", func() bool {
		return allDead(victims)
	}); err != nil {
		return err
	}
	back, err := pollOK(ctx, in, url, recoveryPoll, recoveryLimit)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil // recovered stays false: "never"
	}
	if err != nil {
		return err
	}
	s.recovery, s.recovered = back.Sub(killedAt), true
	return nil
}

// allDead reports whether every proc has exited, reaped or not.
func allDead(procs []lnmptest.Proc) bool {
	for _, p := range procs {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat")
		if err == nil && !strings.Contains(string(b), ") Z ") {
			return false
		}
	}
	return true
}

func ok(r lnmptest.Result) bool { return r.Err == nil && r.Status == 200 }

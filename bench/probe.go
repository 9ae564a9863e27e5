package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// pollOK fetches url every interval until it answers 200 and returns when
// that response ended. It gives up with an error wrapping
// os.ErrDeadlineExceeded after limit, and at once when PID 1 is gone, since
// then nothing will ever answer.
func pollOK(ctx context.Context, in *lnmptest.Init, url string, every, limit time.Duration) (time.Time, error) {
	return pollFor(ctx, in, url, "200", ok, every, limit)
}

// pollFor is pollOK for any answer: it polls until accept takes a response,
// which want describes for the errors.
func pollFor(ctx context.Context, in *lnmptest.Init, url, want string, accept func(lnmptest.Result) bool,
	every, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		res := lnmptest.Fetch(url, time.Second)
		if accept(res) {
			return res.End, nil
		}
		if _, alive := in.PID1(); !alive {
			return time.Time{}, fmt.Errorf("PID 1 exited before %s answered %s (last: status %d, %v)", url, want, res.Status, res.Err)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s did not answer %s within %v (last: status %d, %v): %w",
				url, want, limit, res.Status, res.Err, os.ErrDeadlineExceeded)
		}
		if err := sleepUntil(ctx, time.Now().Add(every)); err != nil {
			return time.Time{}, err
		}
	}
}

// waitInFlight waits until php-fpm's workers are running the slow
// requests, so SIGTERM really finds them in flight rather than queued.
// lnmptest.FpmBusy is no use here: php-fpm refreshes the pool's "active
// processes" in its once-a-second maintenance, so it lags by up to 1 s and
// would push SIGTERM anywhere between 0.3 s and 1 s in. Each worker's own
// entry in the full status is updated by the worker as the request starts.
func waitInFlight(ctx context.Context, sb *lnmptest.Sandbox) error {
	what := strconv.Itoa(slowRequests) + " slow requests in flight"
	var last lnmptest.Result
	err := lnmptest.WaitUntil(inFlightWithin, what, func() bool {
		last = lnmptest.Fetch(sb.URL("/fpm-status?full"), time.Second)
		return ctx.Err() != nil || (ok(last) && runningRequests(last.Body, "/slow.php") >= slowRequests)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%w (last status: %d running, %v)", err, runningRequests(last.Body, "/slow.php"), last.Err)
	}
	return nil
}

// runningRequests counts the workers in php-fpm's full status (one block
// per worker, after a line of asterisks) that are running a request whose
// URI starts with prefix.
func runningRequests(status, prefix string) int {
	n := 0
	for _, block := range strings.Split(status, "************************")[1:] {
		running, matches := false, false
		for _, line := range strings.Split(block, "\n") {
			key, value, _ := strings.Cut(line, ":")
			switch strings.TrimSpace(key) {
			case "state":
				running = strings.TrimSpace(value) == "Running"
			case "request URI":
				matches = strings.HasPrefix(strings.TrimSpace(value), prefix)
			}
		}
		if running && matches {
			n++
		}
	}
	return n
}

// sleepUntil sleeps until t, or less when ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// fireLate sends what a load balancer still sends after SIGTERM: one new
// request every lateEvery, each on its own schedule, so a request that
// hangs does not delay the next one. The channel closes after the last.
func fireLate(ctx context.Context, url string) <-chan lnmptest.Result {
	out := make(chan lnmptest.Result, lateRequests)
	go func() {
		var wg sync.WaitGroup
		defer func() {
			wg.Wait()
			close(out)
		}()
		tick := time.NewTicker(lateEvery)
		defer tick.Stop()
		for i := range lateRequests {
			if i > 0 {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
			wg.Go(func() { out <- lnmptest.Fetch(url, requestTimeout) })
		}
	}()
	return out
}

// waitExit waits for PID 1 to exit, at most exitTimeout, and returns when
// it did and its exit code. One that outlives the bound is SIGKILLed, as a
// container runtime would after its grace period, and reported as killed.
func waitExit(ctx context.Context, in *lnmptest.Init) (at time.Time, code int, killed bool, err error) {
	type exit struct {
		code int
		err  error
	}
	done := make(chan exit, 1)
	go func() {
		code, err := in.Wait(exitTimeout)
		done <- exit{code, err}
	}()
	select {
	case e := <-done:
		at = time.Now()
		if errors.Is(e.err, os.ErrDeadlineExceeded) {
			if err := in.Kill(); err != nil {
				return at, 0, true, err
			}
			code, err := in.Wait(time.Second)
			return at, code, true, err
		}
		return at, e.code, false, e.err
	case <-ctx.Done():
		// Kill makes the Wait above return, so its goroutine ends too.
		in.Kill()
		return time.Time{}, 0, false, ctx.Err()
	}
}

// vmRSS reads a process's resident set size in KiB from the host's /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("PID 1's RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, found := strings.CutPrefix(line, "VmRSS:"); found {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("PID 1's RSS: %q: %w", line, err)
			}
			return kib, nil
		}
	}
	return 0, fmt.Errorf("PID 1's RSS: no VmRSS line in /proc/%d/status", pid)
}

// outputTail returns the last n lines of a process tree's output, indented,
// to explain a failed run without -v.
func outputTail(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  last output of PID 1:\n    " + strings.Join(lines, "\n    ")
}

// prefixWriter starts every line written through it with prefix, so -v
// output says which init wrote it. One goroutine writes to it at a time.
type prefixWriter struct {
	prefix  string
	w       io.Writer
	midLine bool // the last write did not end with a newline
}

// Write writes p with the prefix before each line that begins in it.
func (p *prefixWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.midLine {
			buf.WriteString(p.prefix)
		}
		buf.Write(line)
		p.midLine = line[len(line)-1] != '\n'
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// load is clients sending requests back to back, each on a new
// connection, until stopped.
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	examples     []string // the first few failures
	done         chan struct{}
	wg           sync.WaitGroup
}

// startLoad starts clients, spread evenly over urls.
func startLoad(ctx context.Context, urls []string, clients int) *load {
	l := &load{done: make(chan struct{})}
	for i := range clients {
		url := urls[i%len(urls)]
		l.wg.Go(func() {
			for ctx.Err() == nil {
				select {
				case <-l.done:
					return
				default:
				}
				l.record(url, lnmptest.Fetch(url, requestTimeout))
			}
		})
	}
	return l
}

func (l *load) record(url string, res lnmptest.Result) {
	l.sent.Add(1)
	if ok(res) {
		return
	}
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.examples) < 3 {
		l.examples = append(l.examples, fmt.Sprintf("%s: status %d, %v", url, res.Status, res.Err))
	}
}

// stop stops the clients, waits for their last requests and returns the
// counts.
func (l *load) stop() (sent, failed int, examples []string) {
	close(l.done)
	l.wg.Wait()
	return int(l.sent.Load()), int(l.failed.Load()), l.examples
}

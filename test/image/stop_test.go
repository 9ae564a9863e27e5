package image

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The stop scenario, the same for every init.
const (
	slowRequests = 8
	slowSeconds  = 3
	// drainDelay is lnmp-init's --drain-delay in this scenario (the image's
	// 5s, shortened to keep the run short).
	drainDelay = 2 * time.Second
	// New requests arrive every lateEvery from the moment docker stop is
	// run, lateCount of them, all well inside the drain delay.
	lateEvery = 100 * time.Millisecond
	lateCount = 16
	// inFlightWithin bounds the wait for the slow requests to reach php-fpm.
	inFlightWithin = 15 * time.Second
	// exitSlack is how long after the later of "drain delay over" and "last
	// in-flight request answered" lnmp-init may take to exit.
	exitSlack = 3 * time.Second
)

// contender is one way to run nginx + php-fpm in the same image.
type contender struct {
	name string
	// how is what the table says about the setup.
	how string
	run runOpts
}

// contenders returns lnmp-init, the image's own entrypoint, and the two
// usual alternatives on the same image, configs and user (www-data).
func contenders(t *testing.T) []contender {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return []contender{
		{
			name: "lnmp-init",
			how:  "the image's ENTRYPOINT, LNMP_DRAIN_DELAY=2s",
			run:  runOpts{args: []string{"--env", "LNMP_DRAIN_DELAY=" + drainDelay.String()}},
		},
		{
			name: "supervisord",
			how:  "supervisord -n, stopsignal=QUIT for both, nginx after php-fpm",
			run: runOpts{
				args: []string{"-v", filepath.Join(dir, "supervisord.conf") + ":/srv/compare/supervisord.conf:ro",
					"--entrypoint", "supervisord"},
				cmd: []string{"-c", "/srv/compare/supervisord.conf"},
			},
		},
		{
			name: "tini",
			how:  "docker run --init over a script: php-fpm -D; exec nginx",
			run: runOpts{
				args: []string{"--init", "-v", filepath.Join(dir, "tini-start.sh") + ":/srv/compare/tini-start.sh:ro",
					"--entrypoint", "/bin/sh"},
				cmd: []string{"/srv/compare/tini-start.sh"},
			},
		},
	}
}

// stopResult is what one docker stop under load measured.
type stopResult struct {
	name        string
	inFlightOK  int // slow requests in flight at docker stop that got their full answer
	lateOK      int // requests sent during the drain window that got 200
	stop        time.Duration
	exitCode    int
	lastSlowEnd time.Duration // last in-flight request answered, from docker stop
	queued      int           // of the in-flight requests, how many waited for a php-fpm worker
	failures    []string      // the first few failed requests, for the log
}

// TestStopUnderLoad is the point of lnmp-init, measured with Docker: 8 slow
// PHP requests in flight at `docker stop -t 40` and a new request every
// 100 ms during the drain delay all succeed, the container exits 0, and the
// stop takes about the drain delay or the in-flight requests' remaining
// time, whichever is longer. supervisord and tini run the same scenario on
// the same image for the README's table; only lnmp-init's result is
// asserted.
func TestStopUnderLoad(t *testing.T) {
	requireDocker(t)
	var results []stopResult
	for _, ct := range contenders(t) {
		t.Run(ct.name, func(t *testing.T) {
			res := stopUnderLoad(t, ct)
			results = append(results, res)
			t.Logf("%s: in flight %d/%d (%d of them queued for a php-fpm worker at docker stop), drain window %d/%d, docker stop took %.1fs (last in-flight answer at +%.1fs), exit code %d",
				ct.name, res.inFlightOK, slowRequests, res.queued, res.lateOK, lateCount, res.stop.Seconds(), res.lastSlowEnd.Seconds(), res.exitCode)
			for _, f := range res.failures {
				t.Logf("%s: %s", ct.name, f)
			}
			if ct.name != "lnmp-init" {
				return
			}
			if res.inFlightOK != slowRequests || res.lateOK != lateCount {
				t.Errorf("lnmp-init lost requests: in flight %d/%d, drain window %d/%d; want all",
					res.inFlightOK, slowRequests, res.lateOK, lateCount)
			}
			if res.exitCode != 0 {
				t.Errorf("exit code %d, want 0", res.exitCode)
			}
			// About the drain delay or the in-flight requests, whichever
			// ends later, and nowhere near Docker's SIGKILL.
			expect := max(drainDelay, res.lastSlowEnd)
			if res.stop < drainDelay || res.stop > expect+exitSlack {
				t.Errorf("docker stop took %.1fs, want between the drain delay (%s) and %.1fs (later of drain and last in-flight answer, +%s)",
					res.stop.Seconds(), drainDelay, (expect + exitSlack).Seconds(), exitSlack)
			}
		})
	}
	queued := "some"
	if len(results) > 0 {
		queued = fmt.Sprint(results[0].queued)
	}
	t.Logf("docker stop -t %d with %d PHP requests of %d s at php-fpm (the example pool starts 4 workers: %s of the %d waited for one), "+
		"then one new request every %s for %s (lnmp-init: --drain-delay=%s); same image, configs and user (www-data):\n%s",
		stopKillAfter, slowRequests, slowSeconds, queued, slowRequests, lateEvery, lateEvery*lateCount, drainDelay, table(results, contenders(t)))
}

// stopUnderLoad runs one contender through the scenario.
func stopUnderLoad(t *testing.T, ct contender) stopResult {
	t.Helper()
	c := run(t, strings.ReplaceAll(ct.name, "-", ""), ct.run)
	c.waitServing()

	slow := lnmptest.Fire(slowRequests, c.url(fmt.Sprintf("/slow.php?s=%d", slowSeconds)), 30*time.Second)
	var n, queued int
	if err := lnmptest.WaitUntil(inFlightWithin, fmt.Sprintf("%d requests at php-fpm", slowRequests), func() bool {
		var err error
		n, queued, err = c.fpmConnections()
		return err == nil && n >= slowRequests
	}); err != nil {
		t.Fatalf("%v: %d connections to php-fpm", err, n)
	}

	stopAt := time.Now()
	type stopped struct {
		took time.Duration
		err  error
	}
	stopDone := make(chan stopped, 1)
	go func() {
		took, err := c.stop()
		stopDone <- stopped{took, err}
	}()
	var late []lnmptest.Result
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range lateCount {
		time.Sleep(time.Until(stopAt.Add(time.Duration(i) * lateEvery)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := lnmptest.Fetch(c.url("/index.php"), 10*time.Second)
			mu.Lock()
			late = append(late, r)
			mu.Unlock()
		}()
	}
	s := <-stopDone
	if s.err != nil {
		t.Fatalf("docker stop: %v", s.err)
	}
	wg.Wait()

	res := stopResult{name: ct.name, stop: s.took, exitCode: c.exitCode(), queued: queued}
	for _, r := range lnmptest.Collect(slow) {
		want := fmt.Sprintf("Slept %d.0 s", slowSeconds)
		if r.Err == nil && r.Status == 200 && strings.Contains(r.Body, want) {
			res.inFlightOK++
			res.lastSlowEnd = max(res.lastSlowEnd, r.End.Sub(stopAt))
		} else {
			res.failures = appendFailure(res.failures, "in flight", r)
		}
	}
	for _, r := range late {
		if r.Err == nil && r.Status == 200 && strings.Contains(r.Body, bodyIndex) {
			res.lateOK++
		} else {
			res.failures = appendFailure(res.failures, fmt.Sprintf("sent at +%.1fs", r.Start.Sub(stopAt).Seconds()), r)
		}
	}
	return res
}

func appendFailure(failures []string, what string, r lnmptest.Result) []string {
	if len(failures) >= 4 {
		return failures
	}
	return append(failures, fmt.Sprintf("%s: status %d, error %v, body %q", what, r.Status, r.Err, lastLines(r.Body, 1)))
}

// table renders the results as Markdown, one row per init, in the
// contenders' order.
func table(results []stopResult, cts []contender) string {
	var b strings.Builder
	b.WriteString("| PID 1 | in-flight requests answered | drain-window requests answered | docker stop → exit | exit code | setup |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, ct := range cts {
		for _, r := range results {
			if r.name == ct.name {
				fmt.Fprintf(&b, "| %s | %d/%d | %d/%d | %.1f s | %d | %s |\n",
					r.name, r.inFlightOK, slowRequests, r.lateOK, lateCount, r.stop.Seconds(), r.exitCode, ct.how)
			}
		}
	}
	return b.String()
}

// The comparison's files must exist where the contenders mount them from.
func TestComparisonFiles(t *testing.T) {
	for _, f := range []string{"supervisord.conf", "tini-start.sh"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

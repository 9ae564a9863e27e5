package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The reload measurement (issue 3), for lnmp-init only: supervisord and
// tini have no hot reload. Its sandbox is the scenario's, with conf.d and
// fpm.d written as a Kubernetes ConfigMap volume, so every change is the
// kubelet's atomic ..data swap.
const (
	swapsPerConfig = 5                      // timed swaps of each config per run
	swapGap        = time.Second            // pause after a swap is served, far above lnmp-init's 200 ms debounce, so swaps never merge
	swapPoll       = 5 * time.Millisecond   // between requests looking for the new version
	servedLimit    = 10 * time.Second       // a swap not served by then fails the run
	watcherLimit   = 20 * time.Second       // for lnmp-init's watcher to start
	stormClients   = 8                      // sending back to back, half to each config's page
	stormSwaps     = 12                     // config changes during the storm, alternating
	stormEvery     = 500 * time.Millisecond // between them
	reloadsPoll    = 50 * time.Millisecond
	reloadsQuiet   = 1500 * time.Millisecond // no new reload result this long: the reloader is idle (lnmp-init's max delay is 1 s)
)

// reloadSample is what one reload run measured.
type reloadSample struct {
	served  map[string][]time.Duration // per child: swap -> first response showing the new version
	sent    int                        // storm requests
	failed  int                        // storm requests not answered 200
	reloads map[string]int             // per child: reloads done ("config reloaded") during the storm
	notOK   int                        // reloads refused, skipped or failed during the storm
}

// reloadable is one config lnmp-init hot-reloads, and where its version
// shows.
type reloadable struct {
	child   string          // as lnmp-init's log names it
	set     func(int) error // writes the config at a version, in one atomic swap
	url     string          // a page whose response shows the version
	version func(lnmptest.Result) string
}

// reloadables are nginx's conf.d, whose version /index.php's
// X-Config-Version header shows, and php-fpm's pool, whose version /env.php
// prints.
func reloadables(sb *lnmptest.Sandbox) []reloadable {
	return []reloadable{
		{nameNginx, sb.SetHeaderVersion, sb.URL("/index.php"), headerVersion},
		{namePHPFPM, sb.SetFpmEnvVersion, sb.URL("/env.php"), bodyVersion},
	}
}

// The children's names in lnmp-init's log.
const (
	nameNginx  = "nginx"
	namePHPFPM = "php-fpm"
)

func headerVersion(res lnmptest.Result) string { return res.Header.Get("X-Config-Version") }
func bodyVersion(res lnmptest.Result) string   { return strings.TrimSpace(res.Body) }

// shows reports whether res is a 200 showing version v of c.
func (c reloadable) shows(res lnmptest.Result, v int) bool {
	return ok(res) && c.version(res) == strconv.Itoa(v)
}

// waitVersion polls until c's page shows version v, every swapPoll on a
// new connection, and returns when that response ended.
func waitVersion(ctx context.Context, in *lnmptest.Init, c reloadable, v int) (time.Time, error) {
	accept := func(res lnmptest.Result) bool { return c.shows(res, v) }
	return pollFor(ctx, in, c.url, fmt.Sprintf("%s config version %d", c.child, v), accept, swapPoll, servedLimit)
}

// reloadBenchmark runs the reload measurement once per round. A failed run
// is reported and left out of the table.
func reloadBenchmark(ctx context.Context, r runner, runs int, log io.Writer) (samples []reloadSample, failed bool) {
	return repeatRuns(ctx, runs, log, "reload", r.measureReload)
}

// repeatRuns calls measure runs times, reporting each run's end or error
// on log as "bench: WHAT run i/n", and returns the samples of the runs that
// succeeded; failed is set when one did not, or when ctx ended (then with
// no samples).
func repeatRuns[S any](ctx context.Context, runs int, log io.Writer, what string, measure func(context.Context) (S, error)) (samples []S, failed bool) {
	for i := 1; i <= runs && ctx.Err() == nil; i++ {
		t := time.Now()
		s, err := measure(ctx)
		if ctx.Err() != nil {
			return nil, true
		}
		if err != nil {
			fmt.Fprintf(log, "bench: %s run %d/%d: %v\n", what, i, runs, err)
			failed = true
			continue
		}
		fmt.Fprintf(log, "bench: %s run %d/%d: done in %s\n", what, i, runs, time.Since(t).Round(100*time.Millisecond))
		samples = append(samples, s)
	}
	return samples, failed
}

// measureReload starts lnmp-init on a ConfigMap-style sandbox, times
// single swaps, then runs the storm.
func (r runner) measureReload(ctx context.Context) (reloadSample, error) {
	s := reloadSample{served: map[string][]time.Duration{}}
	opts := sandboxOptions()
	opts.AtomicConfig = true
	err := r.withInit(ctx, nameLnmpInit, opts, func(sb *lnmptest.Sandbox, in *lnmptest.Init, _ time.Time) error {
		configs := reloadables(sb)
		if err := waitWatching(ctx, in, configs); err != nil {
			return err
		}
		v, err := swapLatencies(ctx, in, configs, &s)
		if err != nil {
			return err
		}
		return r.storm(ctx, in, configs, v, &s)
	})
	if err != nil {
		return s, fmt.Errorf("%s, reload run: %w", nameLnmpInit, err)
	}
	return s, nil
}

// waitWatching waits until every config serves at version 1 and lnmp-init's
// watcher has started: a change made before that would go unnoticed.
func waitWatching(ctx context.Context, in *lnmptest.Init, configs []reloadable) error {
	for _, c := range configs {
		accept := func(res lnmptest.Result) bool { return c.shows(res, 1) }
		if _, err := pollFor(ctx, in, c.url, "version 1", accept, startPoll, startTimeout); err != nil {
			return err
		}
	}
	err := lnmptest.WaitUntil(watcherLimit, "lnmp-init's config watcher", func() bool {
		return ctx.Err() != nil || strings.Count(in.Output(), "watching for config changes") >= len(configs)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// swapLatencies swaps each config swapsPerConfig times, alternately and a
// swapGap apart, and records how long each swap took to be served. It
// returns the last version written.
func swapLatencies(ctx context.Context, in *lnmptest.Init, configs []reloadable, s *reloadSample) (int, error) {
	v := 1
	for range swapsPerConfig {
		for _, c := range configs {
			v++
			if err := c.set(v); err != nil {
				return v, fmt.Errorf("swap %s config to version %d: %w", c.child, v, err)
			}
			swapped := time.Now()
			served, err := waitVersion(ctx, in, c, v)
			if err != nil {
				return v, err
			}
			s.served[c.child] = append(s.served[c.child], served.Sub(swapped))
			if err := sleepUntil(ctx, time.Now().Add(swapGap)); err != nil {
				return v, err
			}
		}
	}
	return v, nil
}

// storm keeps stormClients clients busy on every config's page while the
// configs change, and records the requests, the failed ones and the
// reloads done. v is the last version written before.
func (r runner) storm(ctx context.Context, in *lnmptest.Init, configs []reloadable, v int, s *reloadSample) error {
	before := reloadResults(in.Output())
	var urls []string
	for _, c := range configs {
		urls = append(urls, c.url)
	}
	l := startLoad(ctx, urls, stormClients)
	err := swapStorm(ctx, in, configs, v)
	var examples []string
	s.sent, s.failed, examples = l.stop()
	if err != nil {
		return err
	}
	if s.failed > 0 {
		fmt.Fprintf(r.log, "bench: reload storm: %d of %d requests failed, e.g. %s\n", s.failed, s.sent, strings.Join(examples, "; "))
	}
	after, err := settledReloads(ctx, in)
	if err != nil {
		return err
	}
	s.reloads, s.notOK = reloadsBetween(before, after)
	if s.notOK > 0 {
		fmt.Fprintf(r.log, "bench: reload storm: %d reloads did not succeed; run with -v to see lnmp-init's log\n", s.notOK)
	}
	return nil
}

// swapStorm changes the configs alternately every stormEvery, stormSwaps
// times, and returns once every config serves its last version.
func swapStorm(ctx context.Context, in *lnmptest.Init, configs []reloadable, v int) error {
	last := make([]int, len(configs))
	start := time.Now()
	for i := range stormSwaps {
		if err := sleepUntil(ctx, start.Add(time.Duration(i+1)*stormEvery)); err != nil {
			return err
		}
		v++
		c := configs[i%len(configs)]
		if err := c.set(v); err != nil {
			return fmt.Errorf("storm: swap %s config to version %d: %w", c.child, v, err)
		}
		last[i%len(configs)] = v
	}
	for i, c := range configs {
		if last[i] == 0 {
			continue
		}
		if _, err := waitVersion(ctx, in, c, last[i]); err != nil {
			return fmt.Errorf("storm: %w", err)
		}
	}
	return nil
}

// settledReloads waits until no reload result has been logged for
// reloadsQuiet, so the storm's last reloads are counted, and returns the
// results.
func settledReloads(ctx context.Context, in *lnmptest.Init) (map[reloadKey]int, error) {
	last, since := reloadResults(in.Output()), time.Now()
	for time.Since(since) < reloadsQuiet {
		if err := sleepUntil(ctx, time.Now().Add(reloadsPoll)); err != nil {
			return nil, err
		}
		if now := reloadResults(in.Output()); !maps.Equal(now, last) {
			last, since = now, time.Now()
		}
	}
	return last, nil
}

// reloadKey is one child's reload result as lnmp-init logs it: "ok",
// "invalid", "failed" or "skipped".
type reloadKey struct{ child, result string }

// reloadResults counts the reload results in lnmp-init's JSON log; lines
// that are not JSON (nginx's and php-fpm's own output) are skipped.
func reloadResults(out string) map[reloadKey]int {
	counts := map[reloadKey]int{}
	for _, line := range strings.Split(out, "\n") {
		var entry struct{ Msg, Child, Result string }
		if json.Unmarshal([]byte(line), &entry) != nil || !strings.HasPrefix(entry.Msg, "config reload") ||
			entry.Child == "" || entry.Result == "" {
			continue
		}
		counts[reloadKey{entry.Child, entry.Result}]++
	}
	return counts
}

// reloadsBetween returns the successful reloads per child that after has
// and before had not, and how many other results it added.
func reloadsBetween(before, after map[reloadKey]int) (ok map[string]int, notOK int) {
	ok = map[string]int{}
	for k, n := range after {
		if k.result == "ok" {
			ok[k.child] += n - before[k]
		} else {
			notOK += n - before[k]
		}
	}
	return ok, notOK
}

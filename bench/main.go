// Command bench compares lnmp-init with the two usual ways to run nginx and
// php-fpm in one container: supervisord with graceful stop signals, and
// tini over a shell script that daemonizes php-fpm and execs nginx. Each
// runs as PID 1 of its own fresh PID namespace on identical sandbox configs
// (lnmptest.Sandbox, 40 static workers, process_control_timeout 20s), and
// for each it measures:
//
//   - start: from starting PID 1 to the first 200 from /index.php;
//   - RSS: PID 1's VmRSS once it serves;
//   - in-flight: 16 requests of 3 s running when SIGTERM arrives 0.3 s in,
//     and how many of them get 200;
//   - drain window: one new request every 100 ms for 1.6 s after SIGTERM,
//     as load balancers keep sending, and how many get 200;
//   - stop: from SIGTERM to PID 1's exit, and from the last successful
//     in-flight request to PID 1's exit;
//   - crash recovery: in a separate start, php-fpm's master and workers are
//     SIGKILLed from outside, and the time until PHP answers 200 again;
//   - the exit code of the SIGTERM run.
//
// It prints a Markdown table of the medians over -runs runs, each in a new
// sandbox and namespace. Then, unless -reload=false, a second table times
// lnmp-init's hot reload on a sandbox whose conf.d and fpm.d are written
// as a Kubernetes ConfigMap volume (the other inits have no hot reload):
//
//   - swap to served: from the atomic ..data swap of nginx's or php-fpm's
//     config to the first response showing the new version, over 5 swaps
//     of each per run, a second apart;
//   - storm: 8 clients sending back to back while the configs change every
//     0.5 s, 12 times: requests sent, failed, and reloads done.
//
// Then, unless -metrics=false, a third table measures /metrics with
// php-fpm's pools and nginx's stub_status read at each scrape, on the
// sandbox plus a second pool (pm = dynamic, status on pm.status_listen)
// and a stub_status server: PID 1's RSS at the start and after 1,000
// back-to-back scrapes while clients load both pools, its peak, and the
// scrapes' p50 and p99 latency; for lnmp-init as is and with
// --phpfpm-process-metrics, checked against issue 12's bound (10 MiB, and
// a third of supervisord's RSS in the same run). It tries once to build
// hipages/php-fpm_exporter from the Go module proxy to measure it beside
// lnmp-init, and says why when it cannot.
//
// It needs root, unshare, nginx, php-fpm, supervisord and tini, and builds
// lnmp-init unless -lnmp-init names a binary.
//
// A fourth table, unless -child-logs=false, measures children's output
// through package childlog, tagged and passed through: nginx's access log
// at the highest rate the machine sustains, lines per second and the
// relaying process's CPU per line (childlogs.go). From the module root:
//
//	go run ./bench [-runs 3] [-only lnmp-init,tini] [-reload=false] [-keepalive=false] [-metrics=false] [-child-logs=false] [-v] [-lnmp-init PATH]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if mode := os.Getenv(relayEnv); mode != "" {
		os.Exit(relayMain(mode, os.Args[1:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what the flags ask for.
type config struct {
	runs     int
	only     nameList
	verbose  bool
	lnmpInit string
	reload   bool
	// childLogs asks for the child-output table (package childlog).
	childLogs bool
	metrics   bool
	keepAlive bool
}

// metricsWanted reports whether the metrics table is measured.
func (c config) metricsWanted() bool {
	return c.metrics && slices.Contains(c.only.selected(), nameLnmpInit)
}

// reloadWanted reports whether the reload table is measured: asked for,
// and lnmp-init, the only init with hot reload, selected.
func (c config) reloadWanted() bool {
	return c.reload && slices.Contains(c.only.selected(), nameLnmpInit)
}

// run is the whole benchmark without os.Exit, so every deferred cleanup
// runs: 0 when every run succeeded, 1 when something failed or is missing,
// 2 for bad flags, 130 when interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var printed flagError
		if !errors.As(err, &printed) {
			fmt.Fprintf(stderr, "bench: %v\n", err)
		}
		return 2
	}
	// Caught from here on, so an interrupted run still kills its namespace
	// and removes its sandbox and build directory. SIGPIPE is ignored for
	// the same reason: "| head" must not kill the bench with a namespace
	// still running, whose servers would then outlive it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	began := time.Now()
	r, cleanup, err := prepare(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	defer cleanup()
	rows, rss, failed := benchmark(ctx, r, cfg.only.selected(), cfg.runs, stderr)
	var reloads []reloadSample
	if cfg.reloadWanted() && ctx.Err() == nil {
		var reloadFailed bool
		reloads, reloadFailed = reloadBenchmark(ctx, r, cfg.runs, stderr)
		failed = failed || reloadFailed
	}
	var keepAlives []keepAliveSample
	if cfg.keepAlive && cfg.reloadWanted() && ctx.Err() == nil {
		var kaFailed bool
		keepAlives, kaFailed = keepAliveBenchmark(ctx, r, cfg.runs, stderr)
		failed = failed || kaFailed
	}
	var logSamples map[string][]logSample
	if cfg.childLogs && ctx.Err() == nil {
		var logsFailed bool
		logSamples, logsFailed = r.childLogBenchmark(ctx, cfg.runs, stderr)
		failed = failed || logsFailed
	}
	var scrapes metricsResult
	if cfg.metricsWanted() && ctx.Err() == nil {
		scrapes = runMetrics(ctx, r, cfg.runs, stderr)
		failed = failed || scrapes.failed
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench: interrupted")
		return 130
	}
	fmt.Fprint(stdout, markdownTable(tableHeader(), rows))
	fmt.Fprintln(stdout)
	if cfg.reloadWanted() {
		printReload(stdout, cfg, reloads)
		if cfg.keepAlive {
			printKeepAlive(stdout, keepAlives, cfg.runs)
		}
	}
	if cfg.metricsWanted() {
		printMetrics(stdout, cfg, scrapes, rss[nameSupervisord])
	}
	if cfg.childLogs {
		printChildLogs(stdout, logSamples, cfg.runs)
	}
	fmt.Fprintln(stdout, footer(args, r.bin, cfg.runs, began))
	fmt.Fprintf(stderr, "bench: took %s\n", time.Since(began).Round(100*time.Millisecond))
	if failed {
		return 1
	}
	return 0
}

// printReload prints the reload table, the verdict on issue 3's targets
// and how it was measured.
func printReload(w io.Writer, cfg config, samples []reloadSample) {
	fmt.Fprint(w, markdownTable(reloadHeader(), reloadRows(cfg.only.selected(), samples)))
	fmt.Fprintf(w, "\n%s\n\n%s\n\n", reloadVerdict(samples), reloadNote(cfg.runs))
}

// prepare finds every binary the selected inits need and builds lnmp-init
// when it is selected and no -lnmp-init was given; cleanup removes the
// build.
func prepare(ctx context.Context, cfg config, stderr io.Writer) (r runner, cleanup func(), err error) {
	names := cfg.only.selected()
	bin, err := findBinaries(names, cfg.lnmpInit == "")
	if err != nil {
		return r, nil, err
	}
	cleanup = func() {}
	if slices.Contains(names, nameLnmpInit) {
		if bin.lnmpInit, cleanup, err = lnmpInitBinary(ctx, cfg.lnmpInit); err != nil {
			return r, nil, err
		}
		bin.lnmpInitArgs = lnmpInitExtraArgs(ctx, bin.lnmpInit)
		bin.lnmpInitLabel = lnmpInitLabel(ctx, cfg.lnmpInit)
	}
	r = runner{bin: bin, log: stderr}
	if cfg.verbose {
		r.verbose = stderr
	}
	return r, cleanup, nil
}

// benchmark runs every init once per round, round after round, so a slow
// moment of the machine is shared out instead of hitting one init's runs.
// A failed run is reported and left out of the medians.
func benchmark(ctx context.Context, r runner, names []string, runs int, log io.Writer) (rows [][]string, rssKiB map[string]float64, failed bool) {
	samples := make(map[string][]sample)
	for i := 1; i <= runs && ctx.Err() == nil; i++ {
		for _, name := range names {
			t := time.Now()
			s, err := r.measure(ctx, name)
			if ctx.Err() != nil {
				return nil, nil, true
			}
			if err != nil {
				fmt.Fprintf(log, "bench: run %d/%d: %v\n", i, runs, err)
				failed = true
				continue
			}
			fmt.Fprintf(log, "bench: run %d/%d: %s done in %s\n", i, runs, name, time.Since(t).Round(100*time.Millisecond))
			samples[name] = append(samples[name], s)
		}
	}
	rssKiB = map[string]float64{}
	for _, name := range names {
		if len(samples[name]) == 0 {
			rows = append(rows, failedRow(name))
			continue
		}
		rows = append(rows, summarize(name, samples[name]))
		rssKiB[name] = medianRSS(samples[name])
	}
	return rows, rssKiB, failed
}

func failedRow(name string) []string {
	row := []string{name}
	for range tableHeader()[1:] {
		row = append(row, "failed")
	}
	return row
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.runs, "runs", 3, "runs per init; the table shows the median")
	fs.Var(&cfg.only, "only", "run only these inits (repeatable or comma-separated): "+strings.Join(contenderNames(), ", "))
	fs.BoolVar(&cfg.verbose, "v", false, "copy every PID 1's output to stderr")
	fs.BoolVar(&cfg.metrics, "metrics", true, "also measure PID 1's RSS and the scrape latency with php-fpm's pools and nginx's stub_status in /metrics (third table); needs lnmp-init selected")
	fs.BoolVar(&cfg.reload, "reload", true, "also time lnmp-init's hot reload and run the reload storm (second table); needs lnmp-init selected")
	fs.BoolVar(&cfg.keepAlive, "keepalive", true, "also count the keep-alive requests an nginx reload costs (after the reload table); needs -reload")
	fs.BoolVar(&cfg.childLogs, "child-logs", true, "also measure child output through package childlog against pass-through (third table)")
	fs.StringVar(&cfg.lnmpInit, "lnmp-init", "", "prebuilt lnmp-init binary; empty: build ./cmd/lnmp-init into a temp dir")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		// The flag package has printed the error and the usage already.
		return cfg, flagError{err}
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.runs < 1 {
		return cfg, fmt.Errorf("-runs: must be at least 1, got %d", cfg.runs)
	}
	return cfg, nil
}

// flagError is an error the flag package has already printed, with the
// usage, so run does not print it again.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

// nameList is -only: init names, from repeated flags or comma lists.
type nameList []string

// String returns the names as one comma list.
func (l *nameList) String() string { return strings.Join(*l, ",") }

// Set adds the comma-separated names in v, refusing unknown ones.
func (l *nameList) Set(v string) error {
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(contenderNames(), n) {
			return fmt.Errorf("unknown init %q, want one of %s", n, strings.Join(contenderNames(), ", "))
		}
		if !slices.Contains(*l, n) {
			*l = append(*l, n)
		}
	}
	return nil
}

// selected returns the chosen names in table order, or all of them when
// none was chosen.
func (l nameList) selected() []string {
	if len(l) == 0 {
		return contenderNames()
	}
	var out []string
	for _, n := range contenderNames() {
		if slices.Contains(l, n) {
			out = append(out, n)
		}
	}
	return out
}

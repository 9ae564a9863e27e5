package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The metrics measurement (issue 12): PID 1's memory and the scrape's
// latency with php-fpm's pools and nginx's stub_status read at each
// scrape. The sandbox is the scenario's with a second pool (pm = dynamic,
// status on pm.status_listen) and a stub_status server.
const (
	scrapes         = 1000 // back to back, as the issue measured
	scrapeClients   = 4    // sending requests to both pools while the scrapes run
	dynWorkers      = 8
	scrapeTimeout   = 5 * time.Second
	exporterModule  = "github.com/hipages/php-fpm_exporter@latest"
	exporterInstall = 3 * time.Minute
)

// metricsSample is what one run of one metrics server measured. RSS is
// in KiB: PID 1's for lnmp-init, the exporter's own process's for it.
type metricsSample struct {
	rssStart, rssAfter, rssPeak int64
	latencies                   []time.Duration
	failed                      int // scrapes not answered 200 with every pool up
}

// metricsVariant is one row of the metrics table.
type metricsVariant struct {
	name string
	args []string // lnmp-init's extra flags; nil for the exporter
}

func metricsVariants(exporter string) []metricsVariant {
	v := []metricsVariant{{nameLnmpInit, []string{}}, {nameLnmpInit + " --phpfpm-process-metrics", []string{"--phpfpm-process-metrics"}}}
	if exporter != "" {
		v = append(v, metricsVariant{name: "php-fpm_exporter"})
	}
	return v
}

// metricsBenchmark runs every variant once per round.
func metricsBenchmark(ctx context.Context, r runner, runs int, exporter string, log io.Writer) (map[string][]metricsSample, bool) {
	samples := map[string][]metricsSample{}
	failed := false
	for i := 1; i <= runs && ctx.Err() == nil; i++ {
		for _, v := range metricsVariants(exporter) {
			t := time.Now()
			s, err := r.measureMetrics(ctx, v, exporter)
			if ctx.Err() != nil {
				return nil, true
			}
			if err != nil {
				fmt.Fprintf(log, "bench: metrics run %d/%d: %s: %v\n", i, runs, v.name, err)
				failed = true
				continue
			}
			fmt.Fprintf(log, "bench: metrics run %d/%d: %s done in %s\n", i, runs, v.name, time.Since(t).Round(100*time.Millisecond))
			samples[v.name] = append(samples[v.name], s)
		}
	}
	return samples, failed
}

// measureMetrics starts lnmp-init on the two-pool sandbox and scrapes
// either lnmp-init (with v's flags) or the exporter beside it.
func (r runner) measureMetrics(ctx context.Context, v metricsVariant, exporter string) (metricsSample, error) {
	var s metricsSample
	dir, err := os.MkdirTemp("", "lnmp-bench-")
	if err != nil {
		return s, fmt.Errorf("sandbox dir: %w", err)
	}
	defer os.RemoveAll(dir)
	sb, err := lnmptest.NewSandbox(dir, sandboxOptions())
	if err != nil {
		return s, fmt.Errorf("sandbox: %w", err)
	}
	dyn, err := sb.AddDynamicPool("dyn", dynWorkers)
	if err != nil {
		return s, err
	}
	if _, err := sb.AddStubStatus(); err != nil {
		return s, err
	}
	health, err := freeLoopback()
	if err != nil {
		return s, err
	}
	argv, err := commandFor(nameLnmpInit, sb, r.bin)
	if err != nil {
		return s, err
	}
	argv = append(append(argv, v.args...), "--health-addr="+health)
	in, err := lnmptest.StartInit(argv[0], argv[1:], r.runOptions(v.name))
	if err != nil {
		return s, err
	}
	defer in.Kill()
	if _, err := pollOK(ctx, in, "http://"+health+"/readyz", startPoll, startTimeout); err != nil {
		return s, fmt.Errorf("%w\n%s", err, outputTail(in.Output(), 15))
	}
	pid, url := in.Pid(), "http://"+health+"/metrics"
	if v.args == nil {
		stop, epid, eurl, err := startExporter(ctx, exporter, sb, dyn)
		if err != nil {
			return s, err
		}
		defer stop()
		pid, url = epid, eurl
	}
	urls := []string{sb.URL("/index.php"), dyn.URL("/index.php")}
	return scrapeRun(ctx, pid, url, urls)
}

// scrapeRun reads pid's RSS, then scrapes url back to back while clients
// load both pools, then reads the RSS again and its peak.
func scrapeRun(ctx context.Context, pid int, url string, load []string) (metricsSample, error) {
	var s metricsSample
	var err error
	if s.rssStart, err = vmRSS(pid); err != nil {
		return s, err
	}
	l := startLoad(ctx, load, scrapeClients)
	// Keep-alive, as Prometheus scrapes.
	client := &http.Client{Timeout: scrapeTimeout}
	defer client.CloseIdleConnections()
	for range scrapes {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		body, code, err := get(client, url)
		s.latencies = append(s.latencies, time.Since(start))
		if err != nil || code != 200 || !bothUp(body) {
			s.failed++
		}
	}
	l.stop()
	if s.rssAfter, err = vmRSS(pid); err != nil {
		return s, err
	}
	s.rssPeak, err = vmHWM(pid)
	return s, err
}

// bothUp reports whether every phpfpm_up sample of a scrape is 1.
func bothUp(body string) bool {
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "phpfpm_up{") {
			if !strings.HasSuffix(line, " 1") {
				return false
			}
			n++
		}
	}
	return n == 2
}

func get(c *http.Client, url string) (string, int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

// vmHWM reads a process's peak RSS in KiB.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("peak RSS: no VmHWM line in /proc/%d/status", pid)
}

// runOptions copies PID 1's output to -v's writer.
func (r runner) runOptions(name string) lnmptest.RunOptions {
	opt := lnmptest.RunOptions{}
	if r.verbose != nil {
		opt.Tee = &prefixWriter{prefix: "[" + name + "] ", w: r.verbose}
	}
	return opt
}

// freeLoopback returns a loopback address nothing listens on now.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// percentile is the q-quantile (0 to 1) of ds, nearest rank.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

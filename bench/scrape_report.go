package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// metricsTargetMiB is issue 12's bound on PID 1's RSS after the scrapes,
// with the pool metrics on; the other bound is a third of supervisord's.
const metricsTargetMiB = 10.0

// metricsHeader names the metrics table's columns in the order
// summarizeMetrics fills them.
func metricsHeader() []string {
	return []string{"metrics served by", "RSS at start", "RSS after 1,000 scrapes", "peak RSS", "scrape p50", "scrape p99", "failed scrapes"}
}

// metricsRows is the table: one row per variant, "failed" where no run
// succeeded, and the exporter's row saying why it was not measured.
func metricsRows(samples map[string][]metricsSample, exporter, whyNot string) [][]string {
	var rows [][]string
	for _, v := range metricsVariants(exporter) {
		if len(samples[v.name]) == 0 {
			rows = append(rows, fill(v.name, "failed"))
			continue
		}
		rows = append(rows, summarizeMetrics(v.name, samples[v.name]))
	}
	if exporter == "" {
		rows = append(rows, fill("php-fpm_exporter", "not built"))
	}
	return rows
}

func fill(name, cell string) []string {
	row := []string{name}
	for range metricsHeader()[1:] {
		row = append(row, cell)
	}
	return row
}

// summarizeMetrics takes the median of each run's RSS figures and pools
// every run's scrapes for the percentiles.
func summarizeMetrics(name string, samples []metricsSample) []string {
	mib := func(f func(metricsSample) int64) string {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = float64(f(s)) / 1024
		}
		return formatMiB(median(xs))
	}
	var all []time.Duration
	failed, total := 0, 0
	for _, s := range samples {
		all = append(all, s.latencies...)
		failed += s.failed
		total += len(s.latencies)
	}
	return []string{name,
		mib(func(s metricsSample) int64 { return s.rssStart }),
		mib(func(s metricsSample) int64 { return s.rssAfter }),
		mib(func(s metricsSample) int64 { return s.rssPeak }),
		formatLatency(percentile(all, 0.5)), formatLatency(percentile(all, 0.99)),
		strconv.Itoa(failed) + "/" + strconv.Itoa(total)}
}

// formatLatency writes milliseconds with one decimal: scrapes take a few.
func formatLatency(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// metricsVerdict checks lnmp-init's median RSS after the scrapes against
// the target and against supervisord's RSS measured in the same run (0
// when supervisord was not run).
func metricsVerdict(samples map[string][]metricsSample, supervisordKiB float64) string {
	head := fmt.Sprintf("RSS target (issue 12: PID 1 ≤ %.0f MiB after 1,000 scrapes with the pool metrics on", metricsTargetMiB)
	if supervisordKiB > 0 {
		head += fmt.Sprintf(", and ≤ a third of supervisord's %.1f MiB in this run", supervisordKiB/1024)
	}
	head += "): "
	ss := samples[nameLnmpInit]
	if len(ss) == 0 {
		return head + "not measured."
	}
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = float64(s.rssAfter) / 1024
	}
	got := median(xs)
	bound := metricsTargetMiB
	if supervisordKiB > 0 {
		bound = min(bound, supervisordKiB/1024/3)
	}
	if got > bound {
		return head + fmt.Sprintf("not met (%.1f MiB > %.1f MiB).", got, bound)
	}
	return head + fmt.Sprintf("met (%.1f MiB ≤ %.1f MiB).", got, bound)
}

// metricsNote says how the table was made, and why the exporter has no
// figures when it could not be built.
func metricsNote(runs int, whyNot string) string {
	note := fmt.Sprintf("Metrics: lnmp-init on the same sandbox plus a second pool (pm = dynamic, %d workers, status on pm.status_listen) "+
		"and a stub_status server; %d clients send requests to both pools while %d scrapes of /metrics run back to back on one "+
		"keep-alive connection, as Prometheus scrapes. RSS is PID 1's (VmRSS before and after the scrapes, VmHWM for the peak), "+
		"median of %s; latencies pooled over them. A failed scrape is one not answered 200 with phpfpm_up 1 for both pools. "+
		"php-fpm_exporter would run beside lnmp-init on the same two status pages, its own process measured.",
		dynWorkers, scrapeClients, scrapes, plural(runs, "run"))
	if whyNot != "" {
		note += " php-fpm_exporter: not measured, " + whyNot + "."
	}
	return note
}

// metricsResult is the metrics measurement, with what the exporter's
// build said.
type metricsResult struct {
	samples  map[string][]metricsSample
	exporter string // the exporter's binary; "" when not built
	whyNot   string
	failed   bool
}

// runMetrics builds the exporter if it can, then measures every variant.
func runMetrics(ctx context.Context, r runner, runs int, log io.Writer) metricsResult {
	var m metricsResult
	var cleanup func()
	m.exporter, cleanup, m.whyNot = buildExporter(ctx)
	defer cleanup()
	if m.whyNot != "" {
		fmt.Fprintf(log, "bench: php-fpm_exporter not measured: %s\n", m.whyNot)
	}
	m.samples, m.failed = metricsBenchmark(ctx, r, runs, m.exporter, log)
	return m
}

// printMetrics prints the metrics table, the verdict and how it was
// measured.
func printMetrics(w io.Writer, cfg config, m metricsResult, supervisordKiB float64) {
	fmt.Fprint(w, markdownTable(metricsHeader(), metricsRows(m.samples, m.exporter, m.whyNot)))
	fmt.Fprintf(w, "\n%s\n\n%s\n\n", metricsVerdict(m.samples, supervisordKiB), metricsNote(cfg.runs, m.whyNot))
}

// medianRSS is the median of the samples' PID 1 RSS, in KiB.
func medianRSS(samples []sample) float64 {
	xs := make([]float64, len(samples))
	for i, s := range samples {
		xs[i] = float64(s.rssKiB)
	}
	return median(xs)
}

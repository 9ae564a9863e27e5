package main

import (
	"fmt"
	"io"
	"math"
)

// childLogHeader names the child-output table's columns.
func childLogHeader() []string {
	return []string{"child logs", "requests/s", "log lines/s", "lines lost", "PID 1 CPU per line", "PID 1 CPU", "nginx CPU"}
}

// childLogRows turns the samples into the table's rows, medians of the
// runs; CPU shares are of one core.
func childLogRows(samples map[string][]logSample) [][]string {
	var rows [][]string
	for _, m := range relayModes {
		ss := samples[m.name]
		if len(ss) == 0 {
			rows = append(rows, []string{m.label, "failed", "failed", "failed", "failed", "failed", "failed"})
			continue
		}
		pick := func(f func(logSample) float64) float64 {
			xs := make([]float64, len(ss))
			for i, s := range ss {
				xs[i] = f(s)
			}
			return median(xs)
		}
		secs := func(s logSample) float64 { return s.elapsed.Seconds() }
		lost := make([]float64, len(ss))
		for i, s := range ss {
			lost[i] = float64(max(0, s.requests-s.lines))
		}
		perLine := pick(func(s logSample) float64 { return s.relayCPU.Seconds() / math.Max(1, float64(s.lines)) * 1e6 })
		rows = append(rows, []string{
			m.label,
			fmt.Sprintf("%.0f", pick(func(s logSample) float64 { return float64(s.requests) / secs(s) })),
			fmt.Sprintf("%.0f", pick(func(s logSample) float64 { return float64(s.lines) / secs(s) })),
			fmt.Sprintf("%.0f", median(lost)) + spread(lost),
			fmt.Sprintf("%.2f µs", perLine),
			fmt.Sprintf("%.0f%%", pick(func(s logSample) float64 { return s.relayCPU.Seconds() / secs(s) * 100 })),
			fmt.Sprintf("%.0f%%", pick(func(s logSample) float64 { return s.nginxCPU.Seconds() / secs(s) * 100 })),
		})
	}
	return rows
}

// printChildLogs prints the child-output table and how it was measured.
func printChildLogs(w io.Writer, samples map[string][]logSample, runs int) {
	fmt.Fprintln(w, "Child output (nginx access log, one line a request, through package childlog):")
	fmt.Fprintln(w)
	fmt.Fprint(w, markdownTable(childLogHeader(), childLogRows(samples)))
	fmt.Fprintf(w, "\n%s\n\n", childLogNote(runs))
}

func childLogNote(runs int) string {
	return fmt.Sprintf("Each mode: nginx (2 workers) returns a static 200 to %d keep-alive clients for %v, as fast as the machine allows, "+
		"with access_log /dev/stdout; a relay process (the bench binary running childlog as lnmp-init does) is nginx's parent, and the bench "+
		"reads the relay's stdout as a container runtime would. PID 1 CPU is the relay's user+system time during the load, per line read; "+
		"nginx CPU is its master and workers'. Lines lost are requests without a line (dropped while the reader lagged). Median of %d runs.",
		logClients, logDuration, runs)
}

package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reloadTargetMedian is issue 3's target for the median time from a
// config swap to the new config being served; the other target is no
// failed request during the storm.
const reloadTargetMedian = 500 * time.Millisecond

// reloadHeader names the reload table's columns in the order
// summarizeReload fills them.
func reloadHeader() []string {
	return []string{"init", "nginx swap→served, median", "max", "php-fpm swap→served, median", "max",
		"requests during storm", "failed", "reloads during storm"}
}

// reloadRows is the reload table: lnmp-init's row from its samples
// ("failed" in every cell when no run succeeded), and n/a for the inits
// that have no hot reload.
func reloadRows(names []string, samples []reloadSample) [][]string {
	var rows [][]string
	for _, name := range names {
		if name == nameLnmpInit && len(samples) > 0 {
			rows = append(rows, summarizeReload(name, samples))
			continue
		}
		cell := "n/a"
		if name == nameLnmpInit {
			cell = "failed"
		}
		row := []string{name}
		for range reloadHeader()[1:] {
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	return rows
}

// summarizeReload pools every run's swaps for the latency columns; the
// storm columns are medians per storm, with the range when storms differ.
func summarizeReload(name string, samples []reloadSample) []string {
	row := []string{name}
	for _, child := range []string{nameNginx, namePHPFPM} {
		xs := servedSeconds(samples, child)
		row = append(row, formatSeconds(median(xs), false, "n/a"), formatSeconds(maxOf(xs), false, "n/a"))
	}
	perStorm := func(f func(reloadSample) int) string {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = float64(f(s))
		}
		return strconv.FormatFloat(median(xs), 'f', -1, 64) + spread(xs)
	}
	reloads := nameNginx + " " + perStorm(func(s reloadSample) int { return s.reloads[nameNginx] }) + " + " +
		namePHPFPM + " " + perStorm(func(s reloadSample) int { return s.reloads[namePHPFPM] })
	if n := total(samples, func(s reloadSample) int { return s.notOK }); n > 0 {
		reloads += fmt.Sprintf(", %d not ok", n)
	}
	return append(row, perStorm(func(s reloadSample) int { return s.sent }),
		perStorm(func(s reloadSample) int { return s.failed }), reloads)
}

// servedSeconds pools one child's swap-to-served times over all runs.
func servedSeconds(samples []reloadSample, child string) []float64 {
	var xs []float64
	for _, s := range samples {
		for _, d := range s.served[child] {
			xs = append(xs, d.Seconds())
		}
	}
	return xs
}

// maxOf is the largest value, or NaN for none.
func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Max(xs)
}

func total(samples []reloadSample, f func(reloadSample) int) int {
	n := 0
	for _, s := range samples {
		n += f(s)
	}
	return n
}

// reloadVerdict checks the samples against issue 3's targets: each
// config's median swap-to-served time, and no failed request in any storm.
func reloadVerdict(samples []reloadSample) string {
	head := fmt.Sprintf("Reload targets (issue 3: median swap→served ≤ %d ms for each config, 0 failed requests during the storm): ",
		reloadTargetMedian.Milliseconds())
	if len(samples) == 0 {
		return head + "not measured."
	}
	var misses []string
	for _, child := range []string{nameNginx, namePHPFPM} {
		m := median(servedSeconds(samples, child))
		if math.IsNaN(m) || m > reloadTargetMedian.Seconds() {
			misses = append(misses, child+" median "+formatSeconds(m, false, "n/a"))
		}
	}
	if n := total(samples, func(s reloadSample) int { return s.failed }); n > 0 {
		misses = append(misses, fmt.Sprintf("%d failed requests", n))
	}
	if len(misses) > 0 {
		return head + "not met (" + strings.Join(misses, ", ") + ")."
	}
	return head + "met."
}

// reloadNote says how the reload table was made.
func reloadNote(runs int) string {
	return fmt.Sprintf("Reload: lnmp-init on the same sandbox, conf.d and fpm.d written as a ConfigMap volume (atomic ..data swap). "+
		"Swap→served: from the end of the swap to the first response showing the new version, polled every %d ms on new connections; "+
		"%d swaps of each config per run, %g s apart, pooled over %s. "+
		"Storm: %d clients sending back to back to /index.php and /env.php while the configs change %d times, %g s apart, alternating; "+
		"median of %s, with the range when they differ.",
		swapPoll.Milliseconds(), swapsPerConfig, swapGap.Seconds(), plural(runs, "run"),
		stormClients, stormSwaps, stormEvery.Seconds(), plural(runs, "storm"))
}

// plural is "1 run", "3 runs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

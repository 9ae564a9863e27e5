package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tableHeader names the columns in the order summarize fills them.
func tableHeader() []string {
	return []string{"init", "start to first PHP 200", "PID 1 RSS", "in-flight 200s", "drain-window 200s",
		"SIGTERM to exit", "exit after last request", "php-fpm crash recovery", "exit code"}
}

// summarize turns one init's samples into its table row: the median of
// each measurement. In the float64 form NaN means "does not apply" and
// +Inf "never happened", so both sort and take part in the median.
func summarize(name string, samples []sample) []string {
	pick := func(f func(sample) float64) float64 {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = f(s)
		}
		return median(xs)
	}
	counts := func(f func(sample) int, of int) string {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = float64(f(s))
		}
		return formatCount(xs, of)
	}
	start := pick(func(s sample) float64 { return s.start.Seconds() })
	rss := pick(func(s sample) float64 { return float64(s.rssKiB) / 1024 })
	stop := pick(func(s sample) float64 { return secondsOr(s.stop, !s.stopKilled, math.Inf(1)) })
	after := pick(func(s sample) float64 { return secondsOr(s.afterLast, s.anyServed, math.NaN()) })
	recovery := pick(func(s sample) float64 { return secondsOr(s.recovery, s.recovered, math.Inf(1)) })
	codes := make([]int, len(samples))
	for i, s := range samples {
		codes[i] = s.exitCode
	}
	return []string{
		name,
		formatSeconds(start, false, "n/a"),
		formatMiB(rss),
		counts(func(s sample) int { return s.inFlight }, slowRequests),
		counts(func(s sample) int { return s.late }, lateRequests),
		formatSeconds(stop, false, "killed after "+exitTimeout.String()),
		formatSeconds(after, true, "n/a"),
		formatSeconds(recovery, false, "never"),
		formatCodes(codes),
	}
}

// secondsOr is d in seconds when valid, else the stand-in value.
func secondsOr(d time.Duration, valid bool, otherwise float64) float64 {
	if !valid {
		return otherwise
	}
	return d.Seconds()
}

// median ignores NaNs and returns NaN when nothing is left. With an even
// count it averages the two middle values, so one "never" among two runs
// makes the median "never" too rather than hiding it.
func median(xs []float64) float64 {
	var vals []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	if len(vals) == 0 {
		return math.NaN()
	}
	slices.Sort(vals)
	mid := len(vals) / 2
	if len(vals)%2 == 1 {
		return vals[mid]
	}
	return (vals[mid-1] + vals[mid]) / 2
}

// formatSeconds writes sub-second values in milliseconds, where the
// differences between inits are, and longer ones in seconds. NaN and +Inf
// both become inf, the column's word for "no value".
func formatSeconds(sec float64, signed bool, inf string) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return inf
	}
	sign := ""
	if signed && sec >= 0 {
		sign = "+"
	}
	if math.Abs(sec) < 1 {
		return fmt.Sprintf("%s%.0f ms", sign, sec*1000)
	}
	return fmt.Sprintf("%s%.2f s", sign, sec)
}

func formatMiB(mib float64) string {
	if math.IsNaN(mib) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", mib)
}

// formatCount writes the median as "x/of" and adds the range when runs
// disagree, so one lost request in one run is not hidden by the median.
func formatCount(xs []float64, of int) string {
	if len(xs) == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(median(xs), 'f', -1, 64) + "/" + strconv.Itoa(of) + spread(xs)
}

// spread is " (lo–hi)" when the values differ, else empty.
func spread(xs []float64) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return ""
	}
	return " (" + strconv.FormatFloat(lo, 'f', -1, 64) + "–" + strconv.FormatFloat(hi, 'f', -1, 64) + ")"
}

// formatCodes lists each distinct exit code once, in the order seen: a
// median of exit codes would mean nothing.
func formatCodes(codes []int) string {
	var seen []string
	for _, c := range codes {
		if s := strconv.Itoa(c); !slices.Contains(seen, s) {
			seen = append(seen, s)
		}
	}
	if len(seen) == 0 {
		return "n/a"
	}
	return strings.Join(seen, ", ")
}

// markdownTable renders a header and rows with padded columns, so the
// table reads well both raw in a terminal and rendered.
func markdownTable(header []string, rows [][]string) string {
	widths := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], len([]rune(c)))
			}
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		b.WriteString("|")
		for i, w := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + c + strings.Repeat(" ", w-len([]rune(c))) + " |")
		}
		return b.String() + "\n"
	}
	dashes := make([]string, len(widths))
	for i, w := range widths {
		dashes[i] = strings.Repeat("-", w)
	}
	out := line(header) + line(dashes)
	for _, r := range rows {
		out += line(r)
	}
	return out
}

package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5}, 5},
		{[]float64{nan, 1, nan, 3, 2}, 2},     // "does not apply" is left out
		{[]float64{0.1, inf, inf}, inf},       // mostly "never" stays "never"
		{[]float64{0.1, 0.2, inf}, 0.2},       // one "never" of three does not win
		{[]float64{0.1, inf}, inf},            // nor is it averaged away
		{[]float64{-0.5, 0.25, -0.1}, -0.1},   // negative: exited before the last request
		{[]float64{2, 1, 3}, 2},               // input order does not matter
		{[]float64{1.5, 1.5, 1.5, 1.5}, 1.5},  // even count, equal values
		{[]float64{10, 20, 30, 40, 50}, 30.0}, // odd count picks the middle
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := median([]float64{nan, nan}); !math.IsNaN(got) {
		t.Errorf("median of only NaNs = %v, want NaN", got)
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
	xs := []float64{3, 1, 2}
	median(xs)
	if xs[0] != 3 || xs[1] != 1 {
		t.Errorf("median sorted its input in place: %v", xs)
	}
}

func TestFormatSeconds(t *testing.T) {
	for _, tc := range []struct {
		sec    float64
		signed bool
		want   string
	}{
		{0.0434, false, "43 ms"},
		{0.9994, false, "999 ms"},
		{1.0, false, "1.00 s"},
		{2.764, false, "2.76 s"},
		{0.056, true, "+56 ms"},
		{0, true, "+0 ms"},
		{-0.2, true, "-200 ms"},
		{-1.25, true, "-1.25 s"},
		{1.1, true, "+1.10 s"},
		{math.Inf(1), false, "never"},
		{math.NaN(), true, "never"},
	} {
		if got := formatSeconds(tc.sec, tc.signed, "never"); got != tc.want {
			t.Errorf("formatSeconds(%v, %v) = %q, want %q", tc.sec, tc.signed, got, tc.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want string
	}{
		{[]float64{16, 16, 16}, "16/16"},
		{[]float64{16, 15, 16}, "16/16 (15–16)"},
		{[]float64{8, 0, 9}, "8/16 (0–9)"},
		{[]float64{7, 8}, "7.5/16 (7–8)"},
		{nil, "n/a"},
	} {
		if got := formatCount(tc.in, 16); got != tc.want {
			t.Errorf("formatCount(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatCodes(t *testing.T) {
	if got := formatCodes([]int{0, 0, 0}); got != "0" {
		t.Errorf("all zero: %q", got)
	}
	if got := formatCodes([]int{0, 143, 0, 137}); got != "0, 143, 137" {
		t.Errorf("mixed: %q", got)
	}
	if got := formatCodes(nil); got != "n/a" {
		t.Errorf("none: %q", got)
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	samples := []sample{
		{start: 40 * ms, rssKiB: 8192, inFlight: 16, late: 16, stop: 2760 * ms, afterLast: 50 * ms, anyServed: true,
			recovery: 40 * ms, recovered: true},
		{start: 50 * ms, rssKiB: 9216, inFlight: 16, late: 15, stop: 2780 * ms, afterLast: 70 * ms, anyServed: true,
			recovery: 30 * ms, recovered: true},
		{start: 45 * ms, rssKiB: 10240, inFlight: 16, late: 16, stopKilled: true, exitCode: 137},
	}
	got := summarize("lnmp-init", samples)
	want := []string{"lnmp-init", "45 ms", "9.0 MiB", "16/16", "16/16 (15–16)",
		"2.78 s", "+60 ms", "40 ms", "0, 137"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("summarize:\n got %q\nwant %q", got, want)
	}
	if len(got) != len(tableHeader()) {
		t.Errorf("row has %d cells, header %d", len(got), len(tableHeader()))
	}

	never := summarize("tini", []sample{{inFlight: 0}, {inFlight: 0}})
	if never[6] != "n/a" || never[7] != "never" {
		t.Errorf("tini-like row: exit after last %q (want n/a), recovery %q (want never)", never[6], never[7])
	}
}

func TestMarkdownTable(t *testing.T) {
	got := markdownTable([]string{"init", "in-flight 200s"}, [][]string{
		{"lnmp-init", "16/16"},
		{"tini", "0/16 (0–1)"},
	})
	want := "" +
		"| init      | in-flight 200s |\n" +
		"| --------- | -------------- |\n" +
		"| lnmp-init | 16/16          |\n" +
		"| tini      | 0/16 (0–1)     |\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

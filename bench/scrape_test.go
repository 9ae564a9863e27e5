package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range xs {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 .. 1, unsorted on purpose
	}
	for _, tc := range []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{ms(hundred...), 0.5, 50 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(7), 0.99, 7 * time.Millisecond},
		{ms(3, 1, 2), 0.5, 2 * time.Millisecond},
		{nil, 0.5, 0},
	} {
		if got := percentile(tc.in, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

func TestBothUp(t *testing.T) {
	up := "phpfpm_up{pool=\"www\",scrape_uri=\"x\"} 1\nphpfpm_up{pool=\"dyn\",scrape_uri=\"y\"} 1\n"
	if !bothUp(up) {
		t.Error("two pools up read as a failure")
	}
	for _, bad := range []string{strings.Replace(up, "} 1\nphpfpm_up{pool=\"dyn\"", "} 0\nphpfpm_up{pool=\"dyn\"", 1),
		"phpfpm_up{pool=\"www\",scrape_uri=\"x\"} 1\n", "", "lnmp_ready 1\n"} {
		if bothUp(bad) {
			t.Errorf("%q read as both pools up", bad)
		}
	}
}

// TestMetricsReport: the exporter's row says it was not built, the verdict
// holds lnmp-init's median against the smaller bound, and a variant with
// no successful run reads failed.
func TestMetricsReport(t *testing.T) {
	s := func(after int64) metricsSample {
		return metricsSample{rssStart: 8 * 1024, rssAfter: after, rssPeak: after, latencies: []time.Duration{time.Millisecond}}
	}
	samples := map[string][]metricsSample{nameLnmpInit: {s(9 * 1024), s(9*1024 + 512), s(12 * 1024)}}
	rows := metricsRows(samples, "", "403")
	if len(rows) != 3 || rows[0][2] != "9.5 MiB" || rows[1][1] != "failed" || rows[2][0] != "php-fpm_exporter" || rows[2][1] != "not built" {
		t.Errorf("rows %q", rows)
	}
	if v := metricsVerdict(samples, 30*1024); !strings.Contains(v, "met (9.5 MiB ≤ 10.0 MiB)") || !strings.Contains(v, "supervisord's 30.0 MiB") {
		t.Errorf("verdict %q", v)
	}
	if v := metricsVerdict(samples, 27*1024); !strings.Contains(v, "not met (9.5 MiB > 9.0 MiB)") {
		t.Errorf("against a third of supervisord's 27 MiB: %q", v)
	}
	if v := metricsVerdict(nil, 0); !strings.HasSuffix(v, "not measured.") {
		t.Errorf("no samples: %q", v)
	}
	if n := metricsNote(3, "it failed"); !strings.Contains(n, "php-fpm_exporter: not measured, it failed.") {
		t.Errorf("note %q", n)
	}
}

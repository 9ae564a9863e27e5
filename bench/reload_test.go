package main

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// reloadLog is lnmp-init's JSON log as the bench captures it, interleaved
// with what nginx and php-fpm write themselves.
const reloadLog = `{"level":"info","time":"2026-11-22T06:12:05.100Z","logger":"lnmp-init","msg":"watching for config changes","child":"nginx","paths":["/tmp/b/conf.d/*.conf"]}
[22-Nov-2026 06:12:06] NOTICE: fpm is running, pid 7
{"level":"info","time":"2026-11-22T06:12:06.326Z","logger":"lnmp-init","msg":"config reloaded","child":"nginx","trigger":"files changed","paths":["/tmp/b/conf.d/..data"],"validation":"ok","result":"ok","duration":0.027829157}
{"level":"info","time":"2026-11-22T06:12:07.858Z","logger":"lnmp-init","msg":"config reloaded","child":"php-fpm","trigger":"files changed","paths":["/tmp/b/fpm.d/..data"],"validation":"ok","result":"ok","duration":0.248042953}
{"level":"error","time":"2026-11-22T06:12:08.000Z","logger":"lnmp-init","msg":"config reload refused; the old config keeps serving","child":"nginx","trigger":"files changed","result":"invalid","duration":0.01}
{"level":"info","time":"2026-11-22T06:12:09.326Z","logger":"lnmp-init","msg":"config reloaded","child":"nginx","trigger":"files changed","validation":"ok","result":"ok","duration":0.03}
{"level":"info","msg":"config reloaded","child":"nginx","result":"ok"`

func TestReloadResults(t *testing.T) {
	got := reloadResults(reloadLog)
	want := map[reloadKey]int{{"nginx", "ok"}: 2, {"php-fpm", "ok"}: 1, {"nginx", "invalid"}: 1}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v (the cut last line does not count)", got, want)
	}
	if got := reloadResults(""); len(got) != 0 {
		t.Errorf("empty log: %v", got)
	}
}

func TestReloadsBetween(t *testing.T) {
	before := map[reloadKey]int{{"nginx", "ok"}: 5, {"php-fpm", "ok"}: 5}
	after := map[reloadKey]int{{"nginx", "ok"}: 11, {"php-fpm", "ok"}: 10, {"php-fpm", "failed"}: 1}
	ok, notOK := reloadsBetween(before, after)
	if !maps.Equal(ok, map[string]int{"nginx": 6, "php-fpm": 5}) || notOK != 1 {
		t.Errorf("got %v and %d not ok, want nginx 6, php-fpm 5 and 1", ok, notOK)
	}
}

func TestReloadableShows(t *testing.T) {
	h := http.Header{}
	h.Set("X-Config-Version", "3")
	ngx := reloadable{child: nameNginx, version: headerVersion}
	fpm := reloadable{child: namePHPFPM, version: bodyVersion}
	for _, tc := range []struct {
		c    reloadable
		res  lnmptest.Result
		v    int
		want bool
	}{
		{ngx, lnmptest.Result{Status: 200, Header: h}, 3, true},
		{ngx, lnmptest.Result{Status: 200, Header: h}, 4, false},
		{ngx, lnmptest.Result{Status: 502, Header: h}, 3, false}, // an error page keeps the header
		{ngx, lnmptest.Result{Status: 200}, 3, false},
		{fpm, lnmptest.Result{Status: 200, Body: "3\n"}, 3, true},
		{fpm, lnmptest.Result{Status: 200, Body: "13\n"}, 3, false},
		{fpm, lnmptest.Result{Status: 200, Body: "3\n", Err: io.ErrUnexpectedEOF}, 3, false},
	} {
		if got := tc.c.shows(tc.res, tc.v); got != tc.want {
			t.Errorf("%s shows(%+v, %d) = %v", tc.c.child, tc.res, tc.v, got)
		}
	}
}

// reloadSamples are two runs whose pooled swaps give medians of 300 ms
// (nginx) and 355 ms (php-fpm).
func reloadSamples() []reloadSample {
	ms := time.Millisecond
	return []reloadSample{
		{served: map[string][]time.Duration{"nginx": {290 * ms, 300 * ms}, "php-fpm": {340 * ms, 350 * ms}},
			sent: 30000, reloads: map[string]int{"nginx": 6, "php-fpm": 6}},
		{served: map[string][]time.Duration{"nginx": {310 * ms}, "php-fpm": {360 * ms, 420 * ms}},
			sent: 34000, reloads: map[string]int{"nginx": 6, "php-fpm": 5}},
	}
}

func TestReloadRows(t *testing.T) {
	rows := reloadRows(contenderNames(), reloadSamples())
	want := [][]string{
		{"lnmp-init", "300 ms", "310 ms", "355 ms", "420 ms", "32000 (30000–34000)", "0", "nginx 6 + php-fpm 5.5 (5–6)"},
		{"supervisord", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"},
		{"tini", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"},
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
		if len(rows[i]) != len(reloadHeader()) {
			t.Errorf("row %d has %d cells, header %d", i, len(rows[i]), len(reloadHeader()))
		}
	}
	failed := reloadRows([]string{nameLnmpInit}, nil)[0]
	if failed[1] != "failed" || failed[len(failed)-1] != "failed" {
		t.Errorf("no successful run: %q", failed)
	}
	s := reloadSamples()
	s[1].failed, s[1].notOK = 3, 1
	if row := summarizeReload(nameLnmpInit, s); row[6] != "1.5 (0–3)" || !strings.HasSuffix(row[7], ", 1 not ok") {
		t.Errorf("with failures: failed %q, reloads %q", row[6], row[7])
	}
}

func TestReloadVerdict(t *testing.T) {
	if got := reloadVerdict(reloadSamples()); !strings.HasSuffix(got, ": met.") {
		t.Errorf("within targets: %q", got)
	}
	slow := reloadSamples()
	// Pooled: 360, 420, 600, 700 ms.
	slow[0].served["php-fpm"] = []time.Duration{600 * time.Millisecond, 700 * time.Millisecond}
	slow[1].failed = 2
	if got := reloadVerdict(slow); !strings.HasSuffix(got, "not met (php-fpm median 510 ms, 2 failed requests).") {
		t.Errorf("slow php-fpm and failures: %q", got)
	}
	if got := reloadVerdict(nil); !strings.HasSuffix(got, "not measured.") {
		t.Errorf("no samples: %q", got)
	}
}

func TestSpreadAndPlural(t *testing.T) {
	if got := spread([]float64{34609, 1234567, 34609}); got != " (34609–1234567)" {
		t.Errorf("spread = %q, want plain integers", got)
	}
	if got := spread([]float64{0, 0}); got != "" {
		t.Errorf("equal values: %q", got)
	}
	if plural(1, "run") != "1 run" || plural(3, "storm") != "3 storms" {
		t.Errorf("plural: %q, %q", plural(1, "run"), plural(3, "storm"))
	}
}

func TestReloadFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"-reload=false"}, false},
		{[]string{"-only", "tini,supervisord"}, false}, // no init with hot reload
		{[]string{"-only", "lnmp-init"}, true},
	} {
		cfg, err := parseFlags(tc.args, io.Discard)
		if err != nil || cfg.reloadWanted() != tc.want {
			t.Errorf("parseFlags(%q): reloadWanted %v, %v; want %v", tc.args, cfg.reloadWanted(), err, tc.want)
		}
	}
}

// TestLoadCounts runs the storm's clients against a server that fails
// every third request.
func TestLoadCounts(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "down", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	l := startLoad(context.Background(), []string{srv.URL + "/a", srv.URL + "/b"}, 4)
	if err := lnmptest.WaitUntil(5*time.Second, "30 requests", func() bool { return n.Load() >= 30 }); err != nil {
		t.Fatal(err)
	}
	sent, failed, examples := l.stop()
	if int64(sent) != n.Load() || failed != sent/3 || len(examples) != 3 {
		t.Errorf("sent %d (server saw %d), failed %d, %d examples", sent, n.Load(), failed, len(examples))
	}
	if !strings.Contains(examples[0], "status 502") {
		t.Errorf("example %q", examples[0])
	}
}

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// exporterFamily is a family as the exporter whose dashboards lnmp-init
// stands in for writes it: name, type, help and label names (sorted).
type exporterFamily struct {
	name, typ, help string
	labels          []string
}

var (
	poolLabels    = []string{"pool", "scrape_uri"}
	processLabels = []string{"child", "pool", "scrape_uri"}
)

// poolExporterFamilies are hipages/php-fpm_exporter's (phpfpm/exporter.go),
// the per-process ones last.
var poolExporterFamilies = []exporterFamily{
	{"phpfpm_up", "gauge", "Could PHP-FPM be reached?", poolLabels},
	{"phpfpm_scrape_failures", "counter", "The number of failures scraping from PHP-FPM.", poolLabels},
	{"phpfpm_start_since", "counter", "The number of seconds since FPM has started.", poolLabels},
	{"phpfpm_accepted_connections", "counter", "The number of requests accepted by the pool.", poolLabels},
	{"phpfpm_listen_queue", "gauge", "The number of requests in the queue of pending connections.", poolLabels},
	{"phpfpm_max_listen_queue", "counter", "The maximum number of requests in the queue of pending connections since FPM has started.", poolLabels},
	{"phpfpm_listen_queue_length", "gauge", "The size of the socket queue of pending connections.", poolLabels},
	{"phpfpm_idle_processes", "gauge", "The number of idle processes.", poolLabels},
	{"phpfpm_active_processes", "gauge", "The number of active processes.", poolLabels},
	{"phpfpm_total_processes", "gauge", "The number of idle + active processes.", poolLabels},
	{"phpfpm_max_active_processes", "counter", "The maximum number of active processes since FPM has started.", poolLabels},
	{"phpfpm_max_children_reached", "counter", "The number of times, the process limit has been reached, when pm tries to start more children (works only for pm 'dynamic' and 'ondemand').", poolLabels},
	{"phpfpm_slow_requests", "counter", "The number of requests that exceeded your 'request_slowlog_timeout' value.", poolLabels},
	{"phpfpm_process_requests", "counter", "The number of requests the process has served.", processLabels},
	{"phpfpm_process_last_request_memory", "gauge", "The max amount of memory the last request consumed.", processLabels},
	{"phpfpm_process_last_request_cpu", "gauge", "The %cpu the last request consumed.", processLabels},
	{"phpfpm_process_request_duration", "gauge", "The duration in microseconds of the requests.", processLabels},
	{"phpfpm_process_state", "gauge", "The state of the process (Idle, Running, ...).", []string{"child", "pool", "scrape_uri", "state"}},
}

// nginxExporterFamilies are nginx-prometheus-exporter's (collector/nginx.go),
// without labels.
var nginxExporterFamilies = []exporterFamily{
	{"nginx_up", "gauge", "Status of the last metric scrape", nil},
	{"nginx_connections_active", "gauge", "Active client connections", nil},
	{"nginx_connections_accepted", "counter", "Accepted client connections", nil},
	{"nginx_connections_handled", "counter", "Handled client connections", nil},
	{"nginx_connections_reading", "gauge", "Connections where NGINX is reading the request header", nil},
	{"nginx_connections_writing", "gauge", "Connections where NGINX is writing the response back to the client", nil},
	{"nginx_connections_waiting", "gauge", "Idle client connections", nil},
	{"nginx_http_requests_total", "counter", "Total http requests", nil},
}

// ownPoolFamilies are what lnmp-init adds for its users, from the config.
var ownPoolFamilies = []exporterFamily{
	{"phpfpm_max_children", "gauge", "", []string{"pool"}},
	{"phpfpm_pm_mode", "gauge", "", []string{"mode", "pool"}},
	{"phpfpm_saturation", "gauge", "", []string{"pool"}},
}

// statusSandbox is the sandbox with a second pool, "dyn" (pm = dynamic,
// at most 3 workers, status on pm.status_listen) beside www (pm = static,
// status on its own listen address), and a stub_status server.
func statusSandbox(t *testing.T, wwwWorkers int, args ...string) (*lnmptest.Sandbox, *lnmptest.Init, *lnmptest.ExtraPool, string) {
	t.Helper()
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{Workers: wwwWorkers})
	dyn, err := sb.AddDynamicPool("dyn", 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.AddStubStatus(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + freeAddr(t)
	in := startInit(t, sb, lnmptest.RunOptions{}, append(args, "--health-addr="+strings.TrimPrefix(base, "http://"))...)
	if err := lnmptest.WaitHTTP(base+"/readyz", 200, upWithin); err != nil {
		t.Fatal(err)
	}
	return sb, in, dyn, base
}

// TestMetricsMatchTheExporters: every family the two exporters write is in
// the scrape with their type, help and label names, for both pools; with
// --phpfpm-process-metrics the per-process ones too, one set per worker.
func TestMetricsMatchTheExporters(t *testing.T) {
	for _, processes := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "process metrics"}[processes]
		t.Run(name, func(t *testing.T) {
			var args []string
			if processes {
				args = append(args, "--phpfpm-process-metrics")
			}
			_, _, _, base := statusSandbox(t, 4, args...)
			fams := scrapeMetrics(t, base)
			want := slices.Concat(poolExporterFamilies[:13], nginxExporterFamilies, ownPoolFamilies)
			if processes {
				want = append(want, poolExporterFamilies[13:]...)
			}
			for _, f := range want {
				checkFamily(t, fams, f)
			}
			if !processes && fams["phpfpm_process_requests"] != nil {
				t.Error("per-process families without --phpfpm-process-metrics")
			}
			for _, pool := range []string{"www", "dyn"} {
				if v, ok := value(fams, "phpfpm_up", "pool", pool); !ok || v != 1 {
					t.Errorf("phpfpm_up{pool=%q} = %v (present: %v)", pool, v, ok)
				}
			}
			if v, _ := value(fams, "phpfpm_pm_mode", "pool", "dyn", "mode", "dynamic"); v != 1 {
				t.Errorf("phpfpm_pm_mode{pool=dyn,mode=dynamic} = %v", v)
			}
			if v, _ := value(fams, "phpfpm_max_children", "pool", "www"); v != 4 {
				t.Errorf("phpfpm_max_children{pool=www} = %v, want 4", v)
			}
			if v, _ := value(fams, "lnmp_ready"); v != 1 {
				t.Errorf("lnmp_ready = %v beside the new families", v)
			}
		})
	}
}

// checkFamily compares one family of the scrape with the exporter's: for
// both pools when it is a pool family.
func checkFamily(t *testing.T, fams map[string]*family, want exporterFamily) {
	t.Helper()
	f := fams[want.name]
	if f == nil {
		t.Errorf("no %s", want.name)
		return
	}
	if f.typ != want.typ || (want.help != "" && f.help != want.help) {
		t.Errorf("%s: type %s, help %q; the exporter says %s, %q", want.name, f.typ, f.help, want.typ, want.help)
	}
	pools := map[string]bool{}
	for _, s := range f.samples {
		if got := labelNames(s); !slices.Equal(got, want.labels) {
			t.Errorf("%s: labels %v, the exporter's are %v", want.name, got, want.labels)
		}
		pools[s.labels["pool"]] = true
	}
	if slices.Contains(want.labels, "pool") && (!pools["www"] || !pools["dyn"]) {
		t.Errorf("%s: samples for pools %v, want www and dyn", want.name, pools)
	}
}

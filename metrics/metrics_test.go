package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/childlog"
	"github.com/lnmp-init/lnmp-init/procs"
	"github.com/lnmp-init/lnmp-init/promtext"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsFollowEvents(t *testing.T) {
	st := &supervisor.Status{Ready: true, Children: []supervisor.ChildStatus{{Name: "php-fpm", Running: true, Ready: true}, {Name: "nginx"}}}
	m := New([]string{"php-fpm", "nginx"}, func() *supervisor.Status { return st })
	m.ChildStarted("php-fpm")
	m.ChildExited("php-fpm", procs.Exit{Pid: 9, Status: unix.WaitStatus(unix.SIGKILL)})
	m.ChildRestarted("php-fpm", "crash")
	m.OrphanReaped()
	m.PhaseDone("drain", 5*time.Second)
	m.Escalated(unix.SIGKILL)
	m.ReloadDone("nginx", "ok", time.Unix(1700000000, 0))
	m.ReloadDone("php-fpm", "invalid", time.Unix(1700000000, 0))
	out := scrape(t, m)
	for _, want := range []string{
		`lnmp_child_up{child="php-fpm"} 1`,
		`lnmp_child_up{child="nginx"} 0`,
		`lnmp_child_starts_total{child="php-fpm"} 1`,
		`lnmp_child_exits_total{child="php-fpm",how="killed by signal SIGKILL"} 1`,
		`lnmp_child_restarts_total{child="php-fpm",reason="crash"} 1`,
		`lnmp_zombies_reaped_total 1`,
		`lnmp_stop_phase_duration_seconds{phase="drain"} 5`,
		`lnmp_stop_escalations_total{signal="SIGKILL"} 1`,
		`lnmp_stop_sigkill_sent 1`,
		`lnmp_reloads_total{child="nginx",result="ok"} 1`,
		`lnmp_reloads_total{child="php-fpm",result="invalid"} 1`,
		`lnmp_last_reload_success_timestamp_seconds{child="nginx"} 1.7e+09`,
		`lnmp_config_refused{child="nginx"} 0`,
		`lnmp_config_refused{child="php-fpm"} 1`,
		`lnmp_ready 1`,
		`lnmp_draining 0`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	st = &supervisor.Status{Draining: true}
	if out := scrape(t, m); !strings.Contains(out, "lnmp_draining 1") || !strings.Contains(out, "lnmp_ready 0") {
		t.Error("gauges do not follow the status")
	}
	m.ReloadDone("php-fpm", "ok", time.Unix(1700000100, 0))
	if out := scrape(t, m); !strings.Contains(out, `lnmp_config_refused{child="php-fpm"} 0`) {
		t.Error("a reload that served does not clear lnmp_config_refused")
	}
	st = &supervisor.Status{Live: false, Children: []supervisor.ChildStatus{{Name: "php-fpm", Running: true, Unanswering: true, Hung: true}, {Name: "nginx", Running: true, Ready: true}}}
	out = scrape(t, m)
	for _, want := range []string{
		`lnmp_child_unanswering{child="php-fpm"} 1`,
		`lnmp_child_hung{child="php-fpm"} 1`,
		`lnmp_child_hung{child="nginx"} 0`,
		`lnmp_live 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics of a hung php-fpm lack %s", want)
		}
	}
}

func TestChildLogCounts(t *testing.T) {
	n := childlog.Counts{Lines: 12, Dropped: 3, Truncated: 1}
	m := New(nil, func() *supervisor.Status { return &supervisor.Status{} }, ChildLogCollector{Counts: func() childlog.Counts { return n }})
	out := scrape(t, m)
	for _, want := range []string{
		"lnmp_child_log_lines_total 12",
		"lnmp_child_log_lines_dropped_total 3",
		"lnmp_child_log_lines_truncated_total 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestScrapesAreStable: the same state gives the same bytes, with every
// family's samples together under one HELP and TYPE.
func TestScrapesAreStable(t *testing.T) {
	st := &supervisor.Status{Ready: true, Children: []supervisor.ChildStatus{{Name: "php-fpm", Running: true}, {Name: "nginx"}}}
	m := New([]string{"php-fpm", "nginx"}, func() *supervisor.Status { return st })
	m.ChildExited("nginx", procs.Exit{Pid: 9, Status: unix.WaitStatus(2 << 8)})
	m.ChildExited("php-fpm", procs.Exit{Pid: 9, Status: unix.WaitStatus(unix.SIGKILL)})
	m.ChildExited("nginx", procs.Exit{Pid: 9, Status: unix.WaitStatus(unix.SIGSEGV)})
	m.ReloadDone("nginx", "skipped", time.Now())
	own := func() string {
		var w promtext.Writer
		m.writeOwn(&w)
		return string(w.Bytes())
	}
	first := own()
	if second := own(); first != second {
		t.Errorf("two scrapes differ:\n%s\n---\n%s", first, second)
	}
	seen := map[string]bool{}
	last := ""
	for _, line := range strings.Split(strings.TrimSpace(first), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, _, _ = strings.Cut(name, " ")
			if seen[name] {
				t.Errorf("family %s appears twice", name)
			}
			seen[name], last = true, name
			continue
		}
		if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, last) {
			t.Errorf("sample %q outside its family (%s)", line, last)
		}
	}
	// Sorted by label values: nginx's exits before php-fpm's.
	if i, j := strings.Index(first, `child_exits_total{child="nginx"`), strings.Index(first, `child_exits_total{child="php-fpm"`); i > j {
		t.Errorf("exits not sorted by child:\n%s", first)
	}
}

// TestOwnMetricsDoNotAllocate: after the first scrape, lnmp-init's own and
// the process metrics are written without allocating.
func TestOwnMetricsDoNotAllocate(t *testing.T) {
	st := &supervisor.Status{Ready: true, Children: []supervisor.ChildStatus{{Name: "php-fpm", Running: true}, {Name: "nginx"}}}
	m := New([]string{"php-fpm", "nginx"}, func() *supervisor.Status { return st })
	m.ChildStarted("nginx")
	var w promtext.Writer
	scrape := func() {
		w.Reset()
		m.gather(context.Background(), &w)
	}
	scrape()
	if n := testing.AllocsPerRun(50, scrape); n > 0 {
		t.Errorf("%v allocations per scrape", n)
	}
}

func TestProcessMetricsAreRead(t *testing.T) {
	m := New(nil, func() *supervisor.Status { return &supervisor.Status{} })
	for burn := time.Now(); time.Since(burn) < 100*time.Millisecond; {
		// Some CPU time to count, as /proc counts in 10 ms ticks.
	}
	out := scrape(t, m)
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	if cpu, _ := strconv.ParseFloat(metricValue(out, "process_cpu_seconds_total"), 64); cpu < used-0.1 || cpu > used+0.1 {
		t.Errorf("process_cpu_seconds_total %v, getrusage says %v", cpu, used)
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	if n, _ := strconv.Atoi(metricValue(out, "process_open_fds")); n < len(fds)-3 || n > len(fds)+3 {
		t.Errorf("process_open_fds %d, /proc/self/fd lists %d", n, len(fds))
	}
	for _, name := range []string{"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_cpu_seconds_total",
		"process_start_time_seconds", "process_open_fds", "process_max_fds", "go_goroutines", "go_memstats_heap_alloc_bytes"} {
		v, err := strconv.ParseFloat(metricValue(out, name), 64)
		if err != nil || v <= 0 {
			t.Errorf("%s = %q, want a positive number", name, metricValue(out, name))
		}
	}
	start, _ := strconv.ParseFloat(metricValue(out, "process_start_time_seconds"), 64)
	if d := time.Since(time.Unix(int64(start), 0)); d < -5*time.Second || d > 24*time.Hour {
		t.Errorf("process_start_time_seconds %v is %v from now", start, d)
	}
	rss, _ := strconv.ParseFloat(metricValue(out, "process_resident_memory_bytes"), 64)
	if rss < 1<<20 || rss > 1<<32 {
		t.Errorf("process_resident_memory_bytes %v is not a test binary's size", rss)
	}
}

// slowCollector answers after delay, or says it was cut off.
type slowCollector struct {
	name  string
	delay time.Duration
}

func (c slowCollector) Collect(ctx context.Context, w *promtext.Writer) {
	select {
	case <-time.After(c.delay):
		w.Single(c.name+"_up", "up", promtext.Gauge, 1)
	case <-ctx.Done():
		w.Single(c.name+"_up", "up", promtext.Gauge, 0)
	}
}

// TestCollectorsShareOneDeadline: two collectors that would each take
// longer than the deadline cost one deadline together, and their families
// come in the order given.
func TestCollectorsShareOneDeadline(t *testing.T) {
	m := New(nil, func() *supervisor.Status { return &supervisor.Status{} },
		slowCollector{"fast", 0}, slowCollector{"hung_a", time.Hour}, slowCollector{"hung_b", time.Hour})
	start := time.Now()
	out := scrape(t, m)
	if d := time.Since(start); d > ScrapeTimeout+2*time.Second {
		t.Errorf("scrape took %v", d)
	}
	for _, want := range []string{"fast_up 1", "hung_a_up 0", "hung_b_up 0"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Index(out, "hung_a_up") > strings.Index(out, "hung_b_up") {
		t.Error("collectors out of order")
	}
}

func metricValue(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

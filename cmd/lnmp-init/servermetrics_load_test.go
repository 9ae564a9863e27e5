package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// scrapeBound is how long a scrape may take here, whatever php-fpm does:
// the collectors' deadline (500 ms) with room for a loaded machine.
const scrapeBound = 3 * time.Second

// waitMetric scrapes until cond holds for the scrape, and returns it.
func waitFamilies(t *testing.T, base, what string, cond func(map[string]*family) bool) map[string]*family {
	t.Helper()
	var last map[string]*family
	if err := lnmptest.WaitUntil(20*time.Second, what, func() bool {
		last = scrapeMetrics(t, base)
		return cond(last)
	}); err != nil {
		t.Fatal(err)
	}
	return last
}

// TestPoolMetricsFollowTheLoad: accepted connections count up with
// requests; busy workers and saturation rise while slow requests run; a
// dynamic pool that hits pm.max_children counts it, and its status page,
// on pm.status_listen, still answers.
func TestPoolMetricsFollowTheLoad(t *testing.T) {
	sb, _, dyn, base := statusSandbox(t, 4)
	before := scrapeMetrics(t, base)
	const n = 5
	for range n {
		if st, _ := getStatus(sb.URL("/index.php")); st != 200 {
			t.Fatalf("GET /index.php: %d", st)
		}
	}
	after := scrapeMetrics(t, base)
	for _, m := range []struct {
		name   string
		labels []string
	}{{"phpfpm_accepted_connections", []string{"pool", "www"}}, {"nginx_connections_accepted", nil}, {"nginx_http_requests_total", nil}} {
		b, _ := value(before, m.name, m.labels...)
		a, _ := value(after, m.name, m.labels...)
		if a < b+n {
			t.Errorf("%s%v went from %v to %v over %d requests", m.name, m.labels, b, a, n)
		}
	}

	// www: 2 of 4 workers busy, plus the status request itself.
	slow := lnmptest.Fire(2, sb.URL("/slow.php?ms=4000"), 30*time.Second)
	waitFamilies(t, base, "2 of www's 4 workers busy", func(f map[string]*family) bool {
		active, _ := value(f, "phpfpm_active_processes", "pool", "www")
		sat, _ := value(f, "phpfpm_saturation", "pool", "www")
		return active == 3 && sat == 0.5
	})
	// dyn: 5 slow requests on at most 3 workers.
	full := lnmptest.Fire(5, dyn.URL("/slow.php?ms=4000"), 30*time.Second)
	f := waitFamilies(t, base, "dyn saturated", func(f map[string]*family) bool {
		reached, _ := value(f, "phpfpm_max_children_reached", "pool", "dyn")
		sat, _ := value(f, "phpfpm_saturation", "pool", "dyn")
		return reached >= 1 && sat == 1
	})
	if up, _ := value(f, "phpfpm_up", "pool", "dyn"); up != 1 {
		t.Errorf("dyn's status page, on pm.status_listen, did not answer while every worker was busy")
	}
	for _, r := range append(lnmptest.Collect(slow), lnmptest.Collect(full)...) {
		if r.Err != nil || r.Status != 200 {
			t.Errorf("slow request: %d %v", r.Status, r.Err)
		}
	}
	waitFamilies(t, base, "saturation back to 0", func(f map[string]*family) bool {
		www, _ := value(f, "phpfpm_saturation", "pool", "www")
		d, _ := value(f, "phpfpm_saturation", "pool", "dyn")
		return www == 0 && d == 0
	})
}

// timedScrape scrapes once and returns how long it took.
func timedScrape(t *testing.T, base string) (map[string]*family, time.Duration) {
	t.Helper()
	start := time.Now()
	f := scrapeMetrics(t, base)
	return f, time.Since(start)
}

// TestSaturatedPoolScrapeIsBounded: www has no pm.status_listen, so with
// every worker busy its status request waits in the listen queue; the
// scrape still returns in bounded time, with phpfpm_up 0 for www only.
func TestSaturatedPoolScrapeIsBounded(t *testing.T) {
	sb, _, _, base := statusSandbox(t, 2)
	slow := lnmptest.Fire(4, sb.URL("/slow.php?ms=5000"), 30*time.Second)
	defer lnmptest.Collect(slow)
	waitFamilies(t, base, "www's status page to stop answering", func(f map[string]*family) bool {
		up, _ := value(f, "phpfpm_up", "pool", "www")
		return up == 0
	})
	f, took := timedScrape(t, base)
	if took > scrapeBound {
		t.Errorf("scrape of a saturated pool took %v", took)
	}
	checkDown(t, f, "www", "dyn")
}

// TestHungPoolScrapeIsBounded: php-fpm's master and workers SIGSTOPped; a
// scrape returns in bounded time with phpfpm_up 0 for both pools and
// nothing stale, /readyz and /livez answer beside it, and everything is
// back once they continue.
func TestHungPoolScrapeIsBounded(t *testing.T) {
	_, in, _, base := statusSandbox(t, 2)
	procs := in.PHPFPM()
	if len(procs) < 3 {
		t.Fatalf("php-fpm processes: %v", procs)
	}
	signalAll(t, procs, syscall.SIGSTOP)
	defer signalAll(t, procs, syscall.SIGCONT)

	scraped := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		lnmptest.Fetch(base+"/metrics", 10*time.Second)
		scraped <- time.Since(start)
	}()
	// /readyz follows php-fpm's watch, which asks every pool once a
	// second: it turns 503 within a few seconds, and answers at once.
	var readyz lnmptest.Result
	if err := lnmptest.WaitUntil(10*time.Second, "/readyz to say php-fpm does not answer", func() bool {
		readyz = lnmptest.Fetch(base+"/readyz", 10*time.Second)
		return readyz.Status == 503
	}); err != nil {
		t.Error(err)
	}
	livez := lnmptest.Fetch(base+"/livez", 10*time.Second)
	if readyz.Status != 503 || readyz.Duration() > scrapeBound || livez.Status != 200 || livez.Duration() > scrapeBound {
		t.Errorf("beside a scrape of a hung php-fpm: /readyz %d in %v, /livez %d in %v",
			readyz.Status, readyz.Duration(), livez.Status, livez.Duration())
	}
	if d := <-scraped; d > scrapeBound {
		t.Errorf("scrape beside /readyz took %v", d)
	}
	f, took := timedScrape(t, base)
	if took > scrapeBound {
		t.Errorf("scrape of a hung php-fpm took %v", took)
	}
	checkDown(t, f, "www", "")
	checkDown(t, f, "dyn", "")
	if up, _ := value(f, "nginx_up"); up != 1 {
		t.Errorf("nginx_up = %v while only php-fpm hangs", up)
	}

	signalAll(t, procs, syscall.SIGCONT)
	waitFamilies(t, base, "both pools back", func(f map[string]*family) bool {
		www, _ := value(f, "phpfpm_up", "pool", "www")
		d, _ := value(f, "phpfpm_up", "pool", "dyn")
		return www == 1 && d == 1
	})
}

// checkDown: pool reads as down with its failures counted and no value
// from its status page, and other (when not empty) as up.
func checkDown(t *testing.T, f map[string]*family, pool, other string) {
	t.Helper()
	if up, ok := value(f, "phpfpm_up", "pool", pool); !ok || up != 0 {
		t.Errorf("phpfpm_up{pool=%q} = %v (present %v), want 0", pool, up, ok)
	}
	if fails, _ := value(f, "phpfpm_scrape_failures", "pool", pool); fails < 1 {
		t.Errorf("phpfpm_scrape_failures{pool=%q} = %v", pool, fails)
	}
	for _, name := range []string{"phpfpm_active_processes", "phpfpm_accepted_connections", "phpfpm_saturation"} {
		if v, ok := value(f, name, "pool", pool); ok {
			t.Errorf("%s{pool=%q} = %v from a pool that did not answer", name, pool, v)
		}
	}
	if v, _ := value(f, "phpfpm_max_children", "pool", pool); v == 0 {
		t.Errorf("phpfpm_max_children{pool=%q} missing: it comes from the config", pool)
	}
	if other != "" {
		if up, _ := value(f, "phpfpm_up", "pool", other); up != 1 {
			t.Errorf("phpfpm_up{pool=%q} = %v beside the pool that is down", other, up)
		}
	}
}

func signalAll(t *testing.T, procs []lnmptest.Proc, sig syscall.Signal) {
	t.Helper()
	for _, p := range procs {
		if err := syscall.Kill(p.Pid, sig); err != nil && err != syscall.ESRCH {
			t.Errorf("%v to %d: %v", sig, p.Pid, err)
		}
	}
}

// TestMissingStatusPagesAreNamed: a pool without pm.status_path is named
// once in the log, and check prints the lines to add, for it and for
// nginx without stub_status.
func TestMissingStatusPagesAreNamed(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	bare := fmt.Sprintf("[bare]\nlisten = %s\nuser = www-data\ngroup = www-data\npm = ondemand\npm.max_children = 2\n", freeAddr(t))
	if err := sb.SetFpmD("bare.conf", bare); err != nil {
		t.Fatal(err)
	}
	code, out := runSelf(t, "check", "--php-fpm-config="+sb.FpmConf(), "--nginx-config="+sb.NginxConf(), "--stop-timeout=30s", "--grace=32s")
	for _, want := range []string{
		"pool bare (pm ondemand, max_children 2): NOTE: no pm.status_path", "bare.conf:1):\n      pm.status_path = /fpm-status\n      pm.status_listen = 127.0.0.1:",
		"pool www (pm static, max_children 20): tcp://" + sb.FPMAddr() + "/fpm-status on the pool's own listen address",
		"nginx: NOTE: no stub_status location", "      server {\n          listen 127.0.0.1:8081;\n          location = /stub_status {\n              stub_status;",
		"OK: no problem found",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	in := startInit(t, sb, lnmptest.RunOptions{})
	waitServing(t, sb)
	var named []string
	for _, line := range strings.Split(in.Output(), "\n") {
		if strings.Contains(line, "pm.status_path") && strings.Contains(line, "WARN") {
			named = append(named, line)
		}
	}
	if len(named) != 1 || !strings.Contains(named[0], `"bare"`) || !strings.Contains(named[0], "pm.status_path = /fpm-status") {
		t.Errorf("want one warning naming pool bare and the line to add; got %q", named)
	}
}

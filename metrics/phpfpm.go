package metrics

import (
	"context"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/promtext"
)

// PoolCollector reads each php-fpm pool's status page at scrape time, all
// pools at once, and writes hipages/php-fpm_exporter's families under its
// names, types and labels ({pool, scrape_uri}), so its dashboards and
// alerts work unchanged. It adds what that exporter lacks, from the config:
// phpfpm_max_children{pool}, phpfpm_pm_mode{pool,mode} and
// phpfpm_saturation{pool}, busy workers over max_children.
//
// A pool that does not answer in time gets phpfpm_up 0 and its scrape
// failure counted, and nothing else from its status page: no stale values.
// Pools without pm.status_path are not asked; their config-derived
// families are still written.
type PoolCollector struct {
	pools  func() []phpfpm.Pool
	full   bool
	log    *zap.Logger
	mu     sync.Mutex         // guards failures and down
	failed map[string]float64 // scrape failures by pool
	down   map[string]bool    // pools whose last scrape failed, to log changes once
}

// NewPoolCollector collects the pools returned by pools (those of the
// config in force, which a reload changes). processMetrics adds the
// per-process families, reading the status page's process list (&full);
// log, when not nil, hears when a pool stops and starts answering.
func NewPoolCollector(pools func() []phpfpm.Pool, processMetrics bool, log *zap.Logger) *PoolCollector {
	return &PoolCollector{pools: pools, full: processMetrics, log: log,
		failed: map[string]float64{}, down: map[string]bool{}}
}

// poolRead is one pool's part of a scrape.
type poolRead struct {
	pool     phpfpm.Pool
	uri      string
	status   *phpfpm.Status // nil when not asked or not answered
	err      error
	failures float64
}

// Collect reads every pool with a status path, each under ctx, then writes
// the families, each with one sample per pool that has it.
func (c *PoolCollector) Collect(ctx context.Context, w *promtext.Writer) {
	pools := c.pools()
	reads := make([]poolRead, len(pools))
	var wg sync.WaitGroup
	var last func()
	for i, p := range pools {
		reads[i].pool = p
		if p.StatusPath == "" {
			continue
		}
		reads[i].uri = p.StatusURI()
		if last != nil {
			wg.Go(last)
		}
		last = func() { reads[i].status, reads[i].err = p.ReadStatus(ctx, c.full) }
	}
	if last != nil {
		last() // the last pool here: one goroutine fewer
	}
	wg.Wait()
	c.count(reads)
	c.writeUp(w, reads)
	for _, f := range poolFamilies {
		fw := familyWriter{w: w, name: f.name, help: f.help, typ: f.typ}
		for _, r := range reads {
			if r.status != nil {
				fw.sample(f.value(r.status), "pool", r.pool.Name, "scrape_uri", r.uri)
			}
		}
	}
	writeSizes(w, reads)
	if c.full {
		writeProcesses(w, reads)
	}
}

// count adds the failures, and logs a pool that stopped or started
// answering.
func (c *PoolCollector) count(reads []poolRead) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range reads {
		r := &reads[i]
		if r.uri == "" {
			continue
		}
		failed := r.status == nil
		if failed {
			c.failed[r.pool.Name]++
		}
		r.failures = c.failed[r.pool.Name]
		if failed != c.down[r.pool.Name] && c.log != nil {
			if failed {
				c.log.Warn("php-fpm pool status unreadable; phpfpm_up is 0", zap.String("pool", r.pool.Name), zap.Error(r.err))
			} else {
				c.log.Info("php-fpm pool status readable again", zap.String("pool", r.pool.Name))
			}
		}
		c.down[r.pool.Name] = failed
	}
}

func (c *PoolCollector) writeUp(w *promtext.Writer, reads []poolRead) {
	up := familyWriter{w: w, name: "phpfpm_up", help: "Could PHP-FPM be reached?", typ: promtext.Gauge}
	for _, r := range reads {
		if r.uri != "" {
			up.sample(boolValue(r.status != nil), "pool", r.pool.Name, "scrape_uri", r.uri)
		}
	}
	fails := familyWriter{w: w, name: "phpfpm_scrape_failures", help: "The number of failures scraping from PHP-FPM.", typ: promtext.Counter}
	for _, r := range reads {
		if r.uri != "" {
			fails.sample(r.failures, "pool", r.pool.Name, "scrape_uri", r.uri)
		}
	}
}

// writeSizes writes the families read from the config, and saturation.
func writeSizes(w *promtext.Writer, reads []poolRead) {
	maxc := familyWriter{w: w, name: "phpfpm_max_children", help: "The pool's pm.max_children: the most worker processes it runs.", typ: promtext.Gauge}
	for _, r := range reads {
		if r.pool.MaxChildren > 0 {
			maxc.sample(float64(r.pool.MaxChildren), "pool", r.pool.Name)
		}
	}
	mode := familyWriter{w: w, name: "phpfpm_pm_mode", help: "The pool's process manager (pm): 1 for the mode in force.", typ: promtext.Gauge}
	for _, r := range reads {
		if r.pool.PM != "" {
			mode.sample(1, "pool", r.pool.Name, "mode", r.pool.PM)
		}
	}
	sat := familyWriter{w: w, name: "phpfpm_saturation", help: "Busy worker processes over pm.max_children, 0 to 1, not counting the status request itself.", typ: promtext.Gauge}
	for _, r := range reads {
		if r.status != nil && r.pool.MaxChildren > 0 {
			sat.sample(saturation(r.pool, r.status), "pool", r.pool.Name)
		}
	}
}

// saturation is the busy share of the pool. Read on the pool's own listen
// address, the status request is itself served by a busy worker, which is
// left out.
func saturation(p phpfpm.Pool, st *phpfpm.Status) float64 {
	busy, _, _ := st.Counts()
	if p.StatusListen.Network == "" && busy > 0 {
		busy--
	}
	return min(float64(busy)/float64(p.MaxChildren), 1)
}

// poolFamily is one of the exporter's families read from the summary.
type poolFamily struct {
	name, help string
	typ        promtext.Type
	value      func(*phpfpm.Status) float64
}

// poolFamilies are hipages/php-fpm_exporter's, with its help texts and
// types (counter where it says counter, even for a maximum).
var poolFamilies = []poolFamily{
	{"phpfpm_start_since", "The number of seconds since FPM has started.", promtext.Counter, func(s *phpfpm.Status) float64 { return float64(s.StartSince) }},
	{"phpfpm_accepted_connections", "The number of requests accepted by the pool.", promtext.Counter, func(s *phpfpm.Status) float64 { return float64(s.AcceptedConn) }},
	{"phpfpm_listen_queue", "The number of requests in the queue of pending connections.", promtext.Gauge, func(s *phpfpm.Status) float64 { return float64(s.ListenQueue) }},
	{"phpfpm_max_listen_queue", "The maximum number of requests in the queue of pending connections since FPM has started.", promtext.Counter, func(s *phpfpm.Status) float64 { return float64(s.MaxListenQueue) }},
	{"phpfpm_listen_queue_length", "The size of the socket queue of pending connections.", promtext.Gauge, func(s *phpfpm.Status) float64 { return float64(s.ListenQueueLen) }},
	{"phpfpm_idle_processes", "The number of idle processes.", promtext.Gauge, func(s *phpfpm.Status) float64 { _, i, _ := s.Counts(); return float64(i) }},
	{"phpfpm_active_processes", "The number of active processes.", promtext.Gauge, func(s *phpfpm.Status) float64 { a, _, _ := s.Counts(); return float64(a) }},
	{"phpfpm_total_processes", "The number of idle + active processes.", promtext.Gauge, func(s *phpfpm.Status) float64 { _, _, n := s.Counts(); return float64(n) }},
	{"phpfpm_max_active_processes", "The maximum number of active processes since FPM has started.", promtext.Counter, func(s *phpfpm.Status) float64 { return float64(s.MaxActiveProcesses) }},
	{"phpfpm_max_children_reached", "The number of times, the process limit has been reached, when pm tries to start more children (works only for pm 'dynamic' and 'ondemand').", promtext.Counter, func(s *phpfpm.Status) float64 { return float64(s.MaxChildrenReached) }},
	{"phpfpm_slow_requests", "The number of requests that exceeded your 'request_slowlog_timeout' value.", promtext.Counter, func(s *phpfpm.Status) float64 { return float64(s.SlowRequests) }},
}

// processStates are the states the exporter writes a 0 or 1 for, per
// process (fpm_request.c's names).
var processStates = []string{"Idle", "Running", "Finishing", "Reading headers", "Getting request information", "Ending"}

// writeProcesses writes the per-process families. child is the process's
// place in the status list, as in the exporter, not its pid: pids change
// with every respawn and would make the series count grow without bound
// (php-fpm_exporter#110).
func writeProcesses(w *promtext.Writer, reads []poolRead) {
	each := func(name, help string, typ promtext.Type, value func(phpfpm.Process) float64) {
		fw := familyWriter{w: w, name: name, help: help, typ: typ}
		for _, r := range reads {
			if r.status == nil {
				continue
			}
			for i, p := range r.status.Processes {
				fw.sample(value(p), "pool", r.pool.Name, "child", strconv.Itoa(i), "scrape_uri", r.uri)
			}
		}
	}
	each("phpfpm_process_requests", "The number of requests the process has served.", promtext.Counter, func(p phpfpm.Process) float64 { return float64(p.Requests) })
	each("phpfpm_process_last_request_memory", "The max amount of memory the last request consumed.", promtext.Gauge, func(p phpfpm.Process) float64 { return float64(p.LastRequestMemory) })
	each("phpfpm_process_last_request_cpu", "The %cpu the last request consumed.", promtext.Gauge, func(p phpfpm.Process) float64 { return p.LastRequestCPU })
	each("phpfpm_process_request_duration", "The duration in microseconds of the requests.", promtext.Gauge, func(p phpfpm.Process) float64 { return float64(p.RequestDuration) })
	state := familyWriter{w: w, name: "phpfpm_process_state", help: "The state of the process (Idle, Running, ...).", typ: promtext.Gauge}
	for _, r := range reads {
		if r.status == nil {
			continue
		}
		for i, p := range r.status.Processes {
			child := strconv.Itoa(i)
			for _, s := range processStates {
				state.sample(boolValue(p.State == s), "pool", r.pool.Name, "child", child, "state", s, "scrape_uri", r.uri)
			}
		}
	}
}

// familyWriter writes a family's HELP and TYPE before its first sample,
// so a family without samples is left out, as Prometheus's client does.
type familyWriter struct {
	w          *promtext.Writer
	name, help string
	typ        promtext.Type
	started    bool
}

func (f *familyWriter) sample(v float64, labels ...string) {
	if !f.started {
		f.w.Family(f.name, f.help, f.typ)
		f.started = true
	}
	f.w.Sample(v, labels...)
}

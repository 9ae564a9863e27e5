// Package metrics exposes what lnmp-init does as Prometheus metrics: it is
// the supervisor's Observer, reads its Status at scrape time for the gauges
// that describe the present, and adds what its Collectors read at scrape
// time (php-fpm's pools, nginx's stub_status).
//
// It writes the text format itself (package promtext) rather than through
// Prometheus's client library: that library cost PID 1 several MiB of
// resident memory (README, "Dependencies, and why").
package metrics

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
	"github.com/lnmp-init/lnmp-init/promtext"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

const namespace = "lnmp"

// Metrics holds lnmp-init's own metrics, and the collectors a scrape asks.
type Metrics struct {
	status     func() *supervisor.Status
	children   []string
	collectors []Collector
	process    *processStats
	writers    sync.Pool // of *promtext.Writer, one per collector and scrape

	mu          sync.Mutex // guards what follows: the events' counts
	starts      *vec
	exits       *vec
	restarts    *vec
	reloads     *vec
	lastReload  *vec
	refused     *vec
	phases      *vec
	escalations *vec
	sigkill     float64
	orphans     float64
}

// New sets up every metric. children are the supervised programs' names;
// status is read at each scrape, and so is each collector.
func New(children []string, status func() *supervisor.Status, collectors ...Collector) *Metrics {
	m := &Metrics{
		status:      status,
		children:    children,
		collectors:  collectors,
		process:     newProcessStats(),
		starts:      newVec("child_starts_total", "Times each child was started.", promtext.Counter, "child"),
		exits:       newVec("child_exits_total", "Exits of each child, by how it ended (exit code or signal).", promtext.Counter, "child", "how"),
		restarts:    newVec("child_restarts_total", "Restarts of each child, by reason.", promtext.Counter, "child", "reason"),
		reloads:     newVec("reloads_total", "Config reloads of each child, by result: ok, invalid (refused by validation), failed, skipped.", promtext.Counter, "child", "result"),
		lastReload:  newVec("last_reload_success_timestamp_seconds", "When each child last reloaded its config successfully.", promtext.Gauge, "child"),
		refused:     newVec("config_refused", "1 while the child's last reload was refused or failed: its files hold a change that does not serve, and the last config that worked keeps serving.", promtext.Gauge, "child"),
		phases:      newVec("stop_phase_duration_seconds", "How long each phase of the stop in progress or last finished took.", promtext.Gauge, "phase"),
		escalations: newVec("stop_escalations_total", "Signals sent past a stop deadline.", promtext.Counter, "signal"),
	}
	m.writers.New = func() any { return new(promtext.Writer) }
	for _, name := range children {
		m.starts.at(name)
		m.restarts.at(name, "crash")
		for _, r := range []string{"ok", "invalid", "failed"} {
			m.reloads.at(name, r)
		}
		m.refused.at(name)
	}
	return m
}

// ChildStarted counts a start.
func (m *Metrics) ChildStarted(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starts.add(1, name)
}

// ChildExited counts an exit.
func (m *Metrics) ChildExited(name string, e procs.Exit) {
	how := e.String()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exits.add(1, name, how)
}

// ChildRestarted counts a restart.
func (m *Metrics) ChildRestarted(name, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.restarts.add(1, name, reason)
}

// PhaseDone records how long a stop phase took.
func (m *Metrics) PhaseDone(phase string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phases.set(d.Seconds(), phase)
}

// Escalated counts a signal sent past a deadline.
func (m *Metrics) Escalated(sig unix.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.escalations.add(1, unix.SignalName(sig))
	if sig == unix.SIGKILL {
		m.sigkill = 1
	}
}

// OrphanReaped counts a reaped orphan.
func (m *Metrics) OrphanReaped() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orphans++
}

// ReloadDone counts a reload attempt of child and, when it succeeded,
// records when.
func (m *Metrics) ReloadDone(child, result string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reloads.add(1, child, result)
	switch result {
	case "ok":
		m.lastReload.set(float64(at.UnixNano())/1e9, child)
		m.refused.set(0, child)
	case "invalid", "failed":
		m.refused.set(1, child)
	}
}

// writeOwn writes lnmp-init's own families: the events' counts, then the
// gauges read from the supervisor's status.
func (m *Metrics) writeOwn(w *promtext.Writer) {
	st := m.status()
	m.childGauge(w, st, namespace+"_child_up", "1 while the child runs.", func(c supervisor.ChildStatus) bool { return c.Running })
	m.childGauge(w, st, namespace+"_child_ready", "1 while the child accepts connections.", func(c supervisor.ChildStatus) bool { return c.Ready })
	m.childGauge(w, st, namespace+"_child_unanswering", "1 while a child that became ready does not answer its watch (stopped, saturated or hung).",
		func(c supervisor.ChildStatus) bool { return c.Unanswering })
	m.childGauge(w, st, namespace+"_child_hung", "1 from the moment the child's watch found it hung until it is restarted.",
		func(c supervisor.ChildStatus) bool { return c.Hung })
	w.Single(namespace+"_draining", "1 from the stop request to the end.", promtext.Gauge, boolValue(st.Draining))
	w.Single(namespace+"_ready", "1 while lnmp-init reports ready: every child serves and no stop has begun.", promtext.Gauge, boolValue(st.Ready))
	w.Single(namespace+"_live", "1 while lnmp-init reports live: no child hung, no give-up.", promtext.Gauge, boolValue(st.Live))

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range []*vec{m.starts, m.exits, m.restarts, m.reloads, m.lastReload, m.refused, m.phases, m.escalations} {
		v.write(w)
	}
	w.Single(namespace+"_stop_sigkill_sent", "1 once a stop had to send SIGKILL.", promtext.Gauge, m.sigkill)
	w.Single(namespace+"_zombies_reaped_total", "Orphaned processes reaped (not started by lnmp-init).", promtext.Counter, m.orphans)
}

// childGauge writes a gauge family with one sample per child, 1 where
// pick says so.
func (m *Metrics) childGauge(w *promtext.Writer, st *supervisor.Status, name, help string, pick func(supervisor.ChildStatus) bool) {
	w.Family(name, help, promtext.Gauge)
	for _, child := range m.children {
		w.Sample(childValue(st, child, pick), "child", child)
	}
}

func childValue(st *supervisor.Status, name string, pick func(supervisor.ChildStatus) bool) float64 {
	for _, c := range st.Children {
		if c.Name == name {
			return boolValue(pick(c))
		}
	}
	return 0
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

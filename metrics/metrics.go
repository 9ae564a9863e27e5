// Package metrics exposes what lnmp-init does as Prometheus metrics: it is
// the supervisor's Observer, and reads its Status at scrape time for the
// gauges that describe the present.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

const namespace = "lnmp"

// Metrics holds lnmp-init's metrics in a registry of its own.
type Metrics struct {
	reg         *prometheus.Registry
	starts      *prometheus.CounterVec
	exits       *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	lastReload  *prometheus.GaugeVec
	phases      *prometheus.GaugeVec
	escalations *prometheus.CounterVec
	sigkill     prometheus.Gauge
	orphans     prometheus.Counter
}

// New registers every metric. children are the supervised programs' names;
// status is read at each scrape.
func New(children []string, status func() *supervisor.Status) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.starts = f.counterVec("child_starts_total", "Times each child was started.", "child")
	m.exits = f.counterVec("child_exits_total", "Exits of each child, by how it ended (exit code or signal).", "child", "how")
	m.restarts = f.counterVec("child_restarts_total", "Restarts of each child, by reason.", "child", "reason")
	m.reloads = f.counterVec("reloads_total", "Config reloads of each child, by result: ok, invalid (refused by validation), failed, skipped.", "child", "result")
	m.lastReload = f.gaugeVec("last_reload_success_timestamp_seconds", "When each child last reloaded its config successfully.", "child")
	m.phases = f.gaugeVec("stop_phase_duration_seconds", "How long each phase of the stop in progress or last finished took.", "phase")
	m.escalations = f.counterVec("stop_escalations_total", "Signals sent past a stop deadline.", "signal")
	m.sigkill = f.gauge("stop_sigkill_sent", "1 once a stop had to send SIGKILL.")
	m.orphans = f.counter("zombies_reaped_total", "Orphaned processes reaped (not started by lnmp-init).")
	for _, name := range children {
		m.starts.WithLabelValues(name)
		m.restarts.WithLabelValues(name, "crash")
		for _, r := range []string{"ok", "invalid", "failed"} {
			m.reloads.WithLabelValues(name, r)
		}
		f.gaugeFunc("child_up", "1 while the child runs.", prometheus.Labels{"child": name}, func() float64 {
			return childValue(status(), name, func(c supervisor.ChildStatus) bool { return c.Running })
		})
		f.gaugeFunc("child_ready", "1 while the child accepts connections.", prometheus.Labels{"child": name}, func() float64 {
			return childValue(status(), name, func(c supervisor.ChildStatus) bool { return c.Ready })
		})
	}
	f.gaugeFunc("draining", "1 from the stop request to the end.", nil, func() float64 { return boolValue(status().Draining) })
	f.gaugeFunc("ready", "1 while lnmp-init reports ready: every child serves and no stop has begun.", nil, func() float64 { return boolValue(status().Ready) })
	m.reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ChildStarted counts a start.
func (m *Metrics) ChildStarted(name string) { m.starts.WithLabelValues(name).Inc() }

// ChildExited counts an exit.
func (m *Metrics) ChildExited(name string, e procs.Exit) {
	m.exits.WithLabelValues(name, e.String()).Inc()
}

// ChildRestarted counts a restart.
func (m *Metrics) ChildRestarted(name, reason string) { m.restarts.WithLabelValues(name, reason).Inc() }

// PhaseDone records how long a stop phase took.
func (m *Metrics) PhaseDone(phase string, d time.Duration) {
	m.phases.WithLabelValues(phase).Set(d.Seconds())
}

// Escalated counts a signal sent past a deadline.
func (m *Metrics) Escalated(sig unix.Signal) {
	m.escalations.WithLabelValues(unix.SignalName(sig)).Inc()
	if sig == unix.SIGKILL {
		m.sigkill.Set(1)
	}
}

// OrphanReaped counts a reaped orphan.
func (m *Metrics) OrphanReaped() { m.orphans.Inc() }

// ReloadDone counts a reload attempt of child and, when it succeeded,
// records when.
func (m *Metrics) ReloadDone(child, result string, at time.Time) {
	m.reloads.WithLabelValues(child, result).Inc()
	if result == "ok" {
		m.lastReload.WithLabelValues(child).Set(float64(at.UnixNano()) / 1e9)
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

// factory creates and registers metrics under the lnmp namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) gaugeFunc(name, help string, labels prometheus.Labels, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: labels}, fn))
}

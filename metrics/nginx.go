package metrics

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/promtext"
)

// NginxCollector reads nginx's stub_status page at scrape time and writes
// nginx-prometheus-exporter's families under its names and types, without
// labels. When the page does not answer in time, only nginx_up 0 is
// written.
type NginxCollector struct {
	stub func() *nginx.StubStatus
	log  *zap.Logger
	mu   sync.Mutex // guards down
	down bool
}

// NewNginxCollector collects the page stub returns, which may be nil (no
// stub_status location): then it writes nothing. log, when not nil, hears
// when the page stops and starts answering.
func NewNginxCollector(stub func() *nginx.StubStatus, log *zap.Logger) *NginxCollector {
	return &NginxCollector{stub: stub, log: log}
}

// Collect reads the page under ctx and writes the families.
func (c *NginxCollector) Collect(ctx context.Context, w *promtext.Writer) {
	s := c.stub()
	if s == nil {
		return
	}
	a, err := s.Read(ctx)
	c.note(s, err)
	w.Single("nginx_up", "Status of the last metric scrape", promtext.Gauge, boolValue(err == nil))
	if err != nil {
		return
	}
	w.Single("nginx_connections_active", "Active client connections", promtext.Gauge, float64(a.Active))
	w.Single("nginx_connections_accepted", "Accepted client connections", promtext.Counter, float64(a.Accepts))
	w.Single("nginx_connections_handled", "Handled client connections", promtext.Counter, float64(a.Handled))
	w.Single("nginx_connections_reading", "Connections where NGINX is reading the request header", promtext.Gauge, float64(a.Reading))
	w.Single("nginx_connections_writing", "Connections where NGINX is writing the response back to the client", promtext.Gauge, float64(a.Writing))
	w.Single("nginx_connections_waiting", "Idle client connections", promtext.Gauge, float64(a.Waiting))
	w.Single("nginx_http_requests_total", "Total http requests", promtext.Counter, float64(a.Requests))
}

// note logs a change between answering and not.
func (c *NginxCollector) note(s *nginx.StubStatus, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (err != nil) == c.down || c.log == nil {
		c.down = err != nil
		return
	}
	c.down = err != nil
	if err != nil {
		c.log.Warn("nginx stub_status unreadable; nginx_up is 0", zap.String("url", s.URL()), zap.Error(err))
	} else {
		c.log.Info("nginx stub_status readable again", zap.String("url", s.URL()))
	}
}

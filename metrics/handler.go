package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lnmp-init/lnmp-init/promtext"
)

// ScrapeTimeout bounds everything a scrape reads from outside lnmp-init:
// the collectors run side by side under this one deadline, so a hung
// php-fpm pool or nginx costs a scrape this long at most, far below
// Prometheus's default scrape timeout of 10 s.
const ScrapeTimeout = 500 * time.Millisecond

// Collector adds samples read at scrape time from outside lnmp-init (a
// php-fpm pool's status page, nginx's stub_status). Collect writes whole
// families to w and returns by ctx's deadline, writing what it knows (an
// "up" gauge at 0) for a source that did not answer in time.
type Collector interface {
	Collect(ctx context.Context, w *promtext.Writer)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return http.HandlerFunc(m.serve) }

func (m *Metrics) serve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout)
	defer cancel()
	out := m.writers.Get().(*promtext.Writer)
	defer m.writers.Put(out)
	out.Reset()
	m.gather(ctx, out)
	h := w.Header()
	h.Set("Content-Type", promtext.ContentType)
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	_, _ = w.Write(out.Bytes())
}

// gather writes lnmp-init's own metrics, then each collector's in the
// order given. The collectors run at once, each into a writer of its own,
// so the slowest one sets the scrape's duration.
func (m *Metrics) gather(ctx context.Context, out *promtext.Writer) {
	m.writeOwn(out)
	m.process.write(out)
	switch len(m.collectors) {
	case 0:
		return
	case 1:
		m.collectors[0].Collect(ctx, out)
		return
	}
	parts := make([]*promtext.Writer, len(m.collectors))
	var wg sync.WaitGroup
	for i, c := range m.collectors {
		parts[i] = m.writers.Get().(*promtext.Writer)
		parts[i].Reset()
		if i == len(m.collectors)-1 {
			c.Collect(ctx, parts[i]) // the last one here: one goroutine fewer
			break
		}
		wg.Go(func() { c.Collect(ctx, parts[i]) })
	}
	wg.Wait()
	for _, p := range parts {
		_, _ = out.Write(p.Bytes())
		m.writers.Put(p)
	}
}

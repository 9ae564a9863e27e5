package metrics

import (
	"context"

	"github.com/lnmp-init/lnmp-init/childlog"
	"github.com/lnmp-init/lnmp-init/promtext"
)

// ChildLogCollector reports what lnmp-init did with its children's output
// lines when it carries them (--child-logs=tagged): how many it wrote, and
// how many it lost to a blocked output or cut for length.
type ChildLogCollector struct {
	Counts func() childlog.Counts
}

// Collect implements Collector.
func (c ChildLogCollector) Collect(_ context.Context, w *promtext.Writer) {
	n := c.Counts()
	w.Single(namespace+"_child_log_lines_total", "Output lines read from the children and carried to lnmp-init's stdout or stderr.", promtext.Counter, float64(n.Lines))
	w.Single(namespace+"_child_log_lines_dropped_total", "Output lines lost because lnmp-init's own output was blocked and its buffer full (a stalled log collector).", promtext.Counter, float64(n.Dropped))
	w.Single(namespace+"_child_log_lines_truncated_total", "Output lines longer than the line limit, cut.", promtext.Counter, float64(n.Truncated))
}

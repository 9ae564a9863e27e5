package supervisor

import (
	"time"
)

// PlanStep is one phase of a stop, in time since SIGTERM.
type PlanStep struct {
	// Name is "drain", a child's name, or "escalation".
	Name       string
	Start, End time.Duration
	// Bounded says whether the phase has a bound of its own (drain delay,
	// a child's StopBound) or only takes what the stop timeout leaves.
	Bounded bool
}

// Plan returns the stop as it unfolds when every phase uses all the time it
// may: the worst case a grace period must hold. It uses the same bounds as
// the supervisor's own stop. Waiting for leftover workers belongs to the last
// child's phase.
func (cfg Config) Plan() []PlanStep {
	t0 := time.Unix(0, 0)
	deadline := t0.Add(cfg.StopTimeout)
	now := minTime(t0.Add(cfg.DrainDelay), deadline.Add(-EscalationReserve))
	steps := []PlanStep{{Name: "drain", End: now.Sub(t0), Bounded: true}}
	budgetEnd := budgetEndOf(cfg.Children[0], now, deadline)
	for i := len(cfg.Children) - 1; i >= 0; i-- {
		if cfg.Children[i].Program {
			continue
		}
		if cfg.Children[i].BeforeStop != nil {
			// The wait for the peer, then the child's own bound from then.
			waitEnd := maxTime(now, deadline.Add(-EscalationReserve-backGrace))
			steps = append(steps, PlanStep{Name: "peer", Start: now.Sub(t0), End: waitEnd.Sub(t0), Bounded: true})
			now, budgetEnd = waitEnd, budgetEndOf(cfg.Children[0], waitEnd, deadline)
		}
		end := gracefulEnd(cfg.Children, i, now, budgetEnd, deadline)
		steps = append(steps, PlanStep{
			Name: cfg.Children[i].Name, Start: now.Sub(t0), End: end.Sub(t0),
			Bounded: cfg.Children[i].GracefulStop > 0,
		})
		now = end
	}
	return append(steps, PlanStep{Name: "escalation", Start: cfg.StopTimeout - EscalationReserve, End: cfg.StopTimeout, Bounded: true})
}

// StopTimeoutNeeded is the stop timeout the plan needs so that no phase is
// cut short: the drain delay, the request budget (the first child's
// GracefulStop), the last child's least grace, and the escalation reserve.
func (cfg Config) StopTimeoutNeeded() time.Duration {
	return cfg.DrainDelay + cfg.Children[0].GracefulStop + backGrace + EscalationReserve
}

// PlanFits reports whether the stop timeout holds the whole plan.
func (cfg Config) PlanFits() bool {
	return cfg.StopTimeoutNeeded() <= cfg.StopTimeout
}

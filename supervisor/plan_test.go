package supervisor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPlan(t *testing.T) {
	cfg := testConfig() // drain 5s, php-fpm bound 22s, nginx unbounded, stop 40s
	want := []PlanStep{
		{Name: "drain", Start: 0, End: 5 * time.Second, Bounded: true},
		{Name: "nginx", Start: 5 * time.Second, End: 27 * time.Second},
		{Name: "php-fpm", Start: 27 * time.Second, End: 28 * time.Second, Bounded: true},
		{Name: "escalation", Start: 38 * time.Second, End: 40 * time.Second, Bounded: true},
	}
	got := cfg.Plan()
	if len(got) != len(want) {
		t.Fatalf("plan %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if cfg.StopTimeoutNeeded() != 30*time.Second || !cfg.PlanFits() {
		t.Errorf("need %v (want 30s), fits %v", cfg.StopTimeoutNeeded(), cfg.PlanFits())
	}
	cfg.StopTimeout = 25 * time.Second
	if cfg.PlanFits() {
		t.Error("5s drain + 22s budget + 1s + 2s reserve fits in 25s")
	}
	if p := cfg.Plan(); p[1].End != 23*time.Second {
		t.Errorf("nginx not cut at the stop deadline less the reserve: %+v", p[1])
	}
	cfg.StopTimeout = 40 * time.Second
	cfg.Children[1].GracefulStop = 11 * time.Second // nginx's worker_shutdown_timeout + 1s
	if p := cfg.Plan(); p[1].End != 16*time.Second || p[2].End != 27*time.Second {
		t.Errorf("a bounded nginx: %+v", p)
	}
}

// TestPlanMatchesTheRealStop: the plan's worst case is what the supervisor
// does when no child finishes early.
func TestPlanMatchesTheRealStop(t *testing.T) {
	cfg := testConfig()
	h := runningHarness(t, cfg)
	h.s.onSignal(unix.SIGTERM)
	for _, step := range cfg.Plan()[1:3] {
		h.advance(step.Start - h.elapsed())
		if got := h.s.stop.rungEnd.Sub(h.t0); h.s.children[h.idx(step.Name)].proc == nil || got != step.End {
			t.Fatalf("%s: deadline at %v, plan says %v", step.Name, got, step.End)
		}
		h.advance(step.End - h.elapsed())
		h.exit(step.Name, exitCode(0))
	}
}

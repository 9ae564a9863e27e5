package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procs"
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
}

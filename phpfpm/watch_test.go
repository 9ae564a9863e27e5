package phpfpm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestHangCheck walks the cases the README's liveness section names, on a
// clock of the test's own.
func TestHangCheck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type look struct {
		sec                    int
		runs                   uint64
		stopped, answered, wst bool
		hung                   bool
	}
	for name, looks := range map[string][]look{
		"healthy": {{0, 10, false, true, false, false}, {5, 15, false, true, false, false}, {20, 30, false, true, false, false}},
		// Every worker busy on long requests: no answer for 20 s, but the
		// master runs every second and the workers are not stopped.
		"saturated": {{0, 10, false, true, false, false}, {5, 15, false, false, false, false}, {20, 30, false, false, false, false}},
		// SIGSTOP of the master: its run count stands still.
		"master stopped": {{0, 10, false, true, false, false}, {1, 11, true, true, false, false}, {9, 11, true, true, false, false}, {11, 11, true, true, false, true}},
		// A master that is not stopped but never runs (stuck in the kernel).
		"master stuck": {{0, 10, false, true, false, false}, {10, 10, false, true, false, true}},
		// The workers stopped, the master fine: no answer, nothing can run.
		"workers stopped": {{0, 10, false, true, false, false}, {5, 15, false, false, true, false}, {10, 20, false, false, true, true}},
		// The workers stopped for a while, but php-fpm answers again.
		"recovered": {{0, 10, false, true, false, false}, {5, 15, false, false, true, false}, {8, 18, false, true, false, false}, {14, 24, false, true, false, false}},
	} {
		h := hangCheck{hang: 10 * time.Second}
		for _, l := range looks {
			err := h.observe(at(l.sec), l.runs, l.stopped, l.answered, l.wst)
			if (err != nil) != l.hung {
				t.Errorf("%s at %ds: hung = %v (%v), want %v", name, l.sec, err != nil, err, l.hung)
			}
		}
	}
}

func TestServingVerdict(t *testing.T) {
	timeout := fmt.Errorf("pool www at tcp 127.0.0.1:9000: %w", errors.Join(context.DeadlineExceeded, os.ErrDeadlineExceeded))
	refused := fmt.Errorf("pool www at tcp 127.0.0.1:9000: %w", syscall.ECONNREFUSED)
	for _, tc := range []struct {
		name                          string
		err                           error
		masterStopped, workersStopped bool
		want                          bool
	}{
		{"answers", nil, false, false, true},
		{"answers with the master stopped: the workers still serve", nil, true, false, true},
		{"saturated: the ping waits behind busy workers", timeout, false, false, true},
		{"refused", refused, false, false, false},
		{"waits with the master stopped", timeout, true, false, false},
		{"waits with every worker stopped", timeout, false, true, false},
	} {
		if got := servingVerdict(tc.err, tc.masterStopped, tc.workersStopped); got != tc.want {
			t.Errorf("%s: serving %v, want %v", tc.name, got, tc.want)
		}
	}
}

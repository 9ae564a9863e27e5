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

// TestHangCheck walks the cases the README's "Crashes and hangs" names, on
// a clock of the test's own. serving is servingVerdict's answer.
func TestHangCheck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type look struct {
		sec              int
		runs             uint64
		stopped, serving bool
		hung             bool
	}
	for name, looks := range map[string][]look{
		"healthy": {{0, 10, false, true, false}, {5, 15, false, true, false}, {20, 30, false, true, false}},
		// Every worker busy on long requests: the pings wait in the queue
		// for 20 s (serving), and the master runs every second.
		"saturated": {{0, 10, false, true, false}, {5, 15, false, true, false}, {20, 30, false, true, false}},
		// SIGSTOP of the master: its run count stands still.
		"master stopped": {{0, 10, false, true, false}, {1, 11, true, true, false}, {9, 11, true, true, false}, {11, 11, true, true, true}},
		// A master that is not stopped but never runs (stuck in the kernel).
		"master stuck": {{0, 10, false, true, false}, {10, 10, false, true, true}},
		// The workers stopped, or the socket removed: the master runs,
		// nothing serves.
		"not serving": {{0, 10, false, true, false}, {5, 15, false, false, false}, {9, 19, false, false, false}, {10, 20, false, false, true}},
		// Not serving for a while, then serving again.
		"recovered": {{0, 10, false, true, false}, {5, 15, false, false, false}, {8, 18, false, true, false}, {17, 27, false, true, false}},
	} {
		h := hangCheck{hang: 10 * time.Second}
		for _, l := range looks {
			err := h.observe(at(l.sec), l.runs, l.stopped, l.serving)
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

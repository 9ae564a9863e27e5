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
// a clock of the test's own: when php-fpm is hung, and when it is ready.
func TestHangCheck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const A, B, D = answered, busy, down
	type look struct {
		sec     int
		runs    uint64
		stopped bool
		v       verdict
		ready   bool
		hung    bool
	}
	for name, looks := range map[string][]look{
		"healthy": {{0, 10, false, A, true, false}, {5, 15, false, A, true, false}, {20, 30, false, A, true, false}},
		// Every worker busy on long requests, the master running: ready
		// for hang, then not ready; hung only past stuck (70 s here).
		"saturated, completing": {{0, 10, false, A, true, false}, {5, 15, false, B, true, false}, {10, 20, false, B, false, false},
			{40, 50, false, B, false, false}, {41, 51, false, A, true, false}, {100, 110, false, B, false, false}},
		// Workers held for good (a black-holed upstream): hung at stuck.
		"stuck": {{0, 10, false, A, true, false}, {5, 15, false, B, true, false}, {69, 79, false, B, false, false}, {70, 80, false, B, false, true}},
		// SIGSTOP of the master: its run count stands still.
		"master stopped": {{0, 10, false, A, true, false}, {1, 11, true, A, true, false}, {9, 11, true, A, true, false}, {11, 11, true, A, true, true}},
		// A master that is not stopped but never runs (stuck in the kernel).
		"master stuck": {{0, 10, false, A, true, false}, {10, 10, false, A, true, true}},
		// The workers stopped, or the socket removed: down at once, hung
		// after hang.
		"down": {{0, 10, false, A, true, false}, {5, 15, false, D, false, false}, {9, 19, false, D, false, false}, {10, 20, false, D, false, true}},
		// Down for a while, then serving again.
		"recovered": {{0, 10, false, A, true, false}, {5, 15, false, D, false, false}, {8, 18, false, A, true, false}, {17, 27, false, A, true, false}},
	} {
		h := hangCheck{hang: 10 * time.Second, stuck: 70 * time.Second}
		for _, l := range looks {
			err := h.observe(at(l.sec), l.runs, l.stopped, l.v)
			if (err != nil) != l.hung {
				t.Errorf("%s at %ds: hung = %v (%v), want %v", name, l.sec, err != nil, err, l.hung)
			}
			if got := h.ready(at(l.sec), l.v); got != l.ready {
				t.Errorf("%s at %ds: ready = %v, want %v", name, l.sec, got, l.ready)
			}
		}
	}
}

func TestJudge(t *testing.T) {
	timeout := fmt.Errorf("pool www at tcp 127.0.0.1:9000: %w", errors.Join(context.DeadlineExceeded, os.ErrDeadlineExceeded))
	refused := fmt.Errorf("pool www at tcp 127.0.0.1:9000: %w", syscall.ECONNREFUSED)
	for _, tc := range []struct {
		name                          string
		err                           error
		masterStopped, workersStopped bool
		want                          verdict
	}{
		{"answers", nil, false, false, answered},
		{"answers with the master stopped: the workers still serve", nil, true, false, answered},
		{"the ping waits behind busy workers", timeout, false, false, busy},
		{"refused", refused, false, false, down},
		{"waits with the master stopped", timeout, true, false, down},
		{"waits with every worker stopped", timeout, false, true, down},
	} {
		if got := judge(tc.err, tc.masterStopped, tc.workersStopped); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestChildLogRows(t *testing.T) {
	samples := map[string][]logSample{
		"json": {
			{requests: 10000, lines: 10000, elapsed: 5 * time.Second, relayCPU: 50 * time.Millisecond, nginxCPU: time.Second},
			{requests: 12000, lines: 11990, elapsed: 5 * time.Second, relayCPU: 60 * time.Millisecond, nginxCPU: time.Second},
			{requests: 11000, lines: 11000, elapsed: 5 * time.Second, relayCPU: 55 * time.Millisecond, nginxCPU: 2 * time.Second},
		},
	}
	rows := childLogRows(samples)
	if len(rows) != len(relayModes) {
		t.Fatalf("%d rows, want one a mode", len(rows))
	}
	got := strings.Join(rows[1], " | ")
	want := "tagged, JSON | 2200 | 2200 | 0 (0–10) | 5.00 µs | 1% | 20%"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if rows[0][1] != "failed" {
		t.Errorf("a mode without samples: %q", rows[0])
	}
}

func TestCPUTime(t *testing.T) {
	end := time.Now().Add(300 * time.Millisecond) // CPU time is counted in 10 ms ticks
	for time.Now().Before(end) {
	}
	if d := cpuTime(os.Getpid()); d <= 0 {
		t.Errorf("own CPU time %v after a busy loop", d)
	}
	if d := cpuTime(-1); d != 0 {
		t.Errorf("CPU time of no process: %v", d)
	}
}

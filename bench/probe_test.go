package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// fullStatus is php-fpm 8.2's /fpm-status?full, cut to three workers.
const fullStatus = `pool:                 www
process manager:      static
active processes:     6

************************
pid:                  10
state:                Running
request method:       GET
request URI:          /slow.php?ms=3000
script:               /tmp/lnmp-bench-1/app/slow.php

************************
pid:                  11
state:                Idle
request URI:          /slow.php?ms=3000

************************
pid:                  12
state:                Running
request URI:          /fpm-status?full
`

func TestRunningRequests(t *testing.T) {
	if got := runningRequests(fullStatus, "/slow.php"); got != 1 {
		t.Errorf("running slow requests = %d, want 1 (an idle worker's last URI does not count)", got)
	}
	if got := runningRequests(fullStatus, "/fpm-status"); got != 1 {
		t.Errorf("running status requests = %d, want 1", got)
	}
	if got := runningRequests("", "/slow.php"); got != 0 {
		t.Errorf("empty status: %d", got)
	}
}

func TestInFlightOutcome(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	results := []lnmptest.Result{
		{Status: 200, End: at(3000)},
		{Status: 200, End: at(3010)},
		{Status: 502, End: at(3500)},                           // failures do not count as the last request
		{Status: 200, End: at(3400), Err: errors.New("reset")}, // nor does a cut body
	}
	n, after, any := inFlightOutcome(results, at(3060))
	if n != 2 || after != 50*time.Millisecond || !any {
		t.Errorf("got n=%d after=%v any=%v, want 2, 50ms, true", n, after, any)
	}
	if _, after, _ := inFlightOutcome(results, at(2000)); after != -1010*time.Millisecond {
		t.Errorf("exit before the last request: after=%v, want -1.01s", after)
	}
	if n, _, any := inFlightOutcome(results[2:], at(4000)); n != 0 || any {
		t.Errorf("no success: n=%d any=%v, want 0, false", n, any)
	}
}

func TestPrefixWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &prefixWriter{prefix: "[tini] ", w: &buf}
	for _, chunk := range []string{"one\ntw", "o\n", "", "three\nfour"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	want := "[tini] one\n[tini] two\n[tini] three\n[tini] four"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestOutputTail(t *testing.T) {
	got := outputTail("a\nb\nc\nd\n", 2)
	want := "  last output of PID 1:\n    c\n    d"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

package main

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// flood is an attacker on the probe port: n clients, each connecting,
// sending prefix (perhaps nothing), then holding the connection until the
// server closes it, and connecting again at once.
type flood struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func startFlood(addr string, n int, prefix string) *flood {
	f := &flood{stop: make(chan struct{})}
	for range n {
		f.wg.Go(func() {
			for {
				select {
				case <-f.stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if prefix != "" {
					_, _ = io.WriteString(c, prefix)
				}
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}
		})
	}
	return f
}

func (f *flood) Stop() { close(f.stop); f.wg.Wait() }

// TestHuntProbeFloodLocksOutTheKubelet: the probe port listens on every
// interface (:9180), so any pod of the cluster reaches it. An attacker
// keeps 300 connections coming, each either silent or sending the start
// of a request line and no more (slowloris). health's connGuard promises
// that "thousands of idle or trickling connections hold at most max
// descriptors of PID 1, and the kubelet's next probe, on a new connection,
// is still answered". The kubelet probes on a new connection each time
// (timeoutSeconds 3 in the examples) and restarts the container after 3
// failed /livez probes in a row: here at least 90% of the probes must be
// answered, and never 3 in a row fail.
//
// Fails on 702a955: with trickling connections every slot is "a request
// in progress" younger than stuckAfter (1 s), so the kubelet's connection
// is closed on accept, and the stuck ones the churn produces are taken by
// the attacker's next connections first: 0 of 50 probes answered
// ("connection reset by peer"). Silent connections are evicted oldest
// first, and with GOMAXPROCS=1 the accept loop takes dozens more before
// the probe's goroutine reads its request, so the probe's own connection
// is evicted: about half fail. Either way an unauthenticated client can
// make Kubernetes restart the container, or keep it out of the Service.
func TestHuntProbeFloodLocksOutTheKubelet(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct{ name, prefix string }{
		{"silent", ""},
		{"slowloris", "GET /livez HTTP/1.1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			_, base := startProbed(t, sb, lnmptest.RunOptions{})
			f := startFlood(strings.TrimPrefix(base, "http://"), 300, tc.prefix)
			defer f.Stop()
			time.Sleep(2 * time.Second)
			const probes = 40
			failed, run, worstRun := 0, 0, 0
			var first error
			for range probes {
				r := lnmptest.Fetch(base+"/livez", 3*time.Second)
				if r.Status == 200 && r.Err == nil {
					run = 0
				} else {
					failed++
					run++
					worstRun = max(worstRun, run)
					if first == nil {
						first = r.Err
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Logf("%s flood: %d of %d probes failed, at most %d in a row; first: %v", tc.name, failed, probes, worstRun, first)
			if failed > probes/10 || worstRun >= 3 {
				t.Errorf("%s flood: %d of %d /livez probes failed, %d in a row (the kubelet restarts at 3); first: %v",
					tc.name, failed, probes, worstRun, first)
			}
		})
	}
}

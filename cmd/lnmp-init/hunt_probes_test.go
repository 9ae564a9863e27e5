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
	// Another pod: the attacker's address is not the kubelet's (the
	// node's). Any 127/8 address is loopback's.
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	for range n {
		f.wg.Go(func() {
			for {
				select {
				case <-f.stop:
					return
				default:
				}
				c, err := d.Dial("tcp", addr)
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
// interface (:9180), so any pod of the cluster reaches it. An attacker, on
// an address of its own as another pod would be,
// keeps 100 connections coming, each sending the start of a request line
// and no more (slowloris), reconnecting as soon as one is closed. health's
// connGuard promises that "thousands of idle or trickling connections hold
// at most max descriptors of PID 1, and the kubelet's next probe, on a new
// connection, is still answered". The kubelet probes on a new connection
// each time (timeoutSeconds 3 in the examples) and restarts the container
// after 3 failed /livez probes in a row: at least 90% of the probes must
// be answered, and never 3 in a row fail.
//
// Failed on 702a955 and 6254832: every slot was "a request in progress"
// younger than stuckAfter (1 s), so the kubelet's connection was closed on
// accept: 39 or 40 of 40 probes failed. Passes since the guard counts a
// connection busy only from its whole header on, evicts trickling senders
// first, and takes its victim from the address holding the most
// connections.
func TestHuntProbeFloodLocksOutTheKubelet(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	_, base := startProbed(t, sb, lnmptest.RunOptions{})
	f := startFlood(strings.TrimPrefix(base, "http://"), 100, "GET /livez HTTP/1.1\r\n")
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
	t.Logf("slowloris flood: %d of %d probes failed, at most %d in a row; first: %v", failed, probes, worstRun, first)
	if failed > probes/10 || worstRun >= 3 {
		t.Errorf("slowloris flood: %d of %d /livez probes failed, %d in a row (the kubelet restarts at 3); first: %v",
			failed, probes, worstRun, first)
	}
}

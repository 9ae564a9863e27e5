package health

import (
	"net"
	"sync"
	"time"
)

// connGuard keeps the probe listener to at most max connections without
// letting anyone who holds connections lock the probes out. When a new
// connection comes and every slot is taken, it makes room by closing the
// oldest connection that waits (idle between requests, or not sent one
// yet), else the oldest that has been busy with one request for longer
// than a probe ever takes (stuckAfter: a slow sender); only when every
// connection is a request in progress is the new one closed. So thousands
// of idle or trickling connections hold at most max descriptors of PID 1,
// and the kubelet's next probe, on a new connection, is still answered.
type connGuard struct {
	max int
	now func() time.Time

	mu    sync.Mutex
	conns map[net.Conn]*connEntry
}

type connEntry struct {
	busy  bool      // a request is being read or answered
	since time.Time // when it last changed between waiting and busy
}

// stuckAfter is how long a request may be in progress before a new
// connection may take its slot: a probe is answered in well under 1 ms.
const stuckAfter = time.Second

func newConnGuard(max int) *connGuard {
	return &connGuard{max: max, now: time.Now, conns: make(map[net.Conn]*connEntry)}
}

// setBusy records that a request on c is being read or answered (busy)
// or that c waits for one.
func (g *connGuard) setBusy(c net.Conn, busy bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.conns[c]; ok && e.busy != busy {
		e.busy, e.since = busy, g.now()
	}
}

// done forgets c, which is closed.
func (g *connGuard) done(c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
}

// admit takes c in, closing another connection if need be, or closes c
// and reports false.
func (g *connGuard) admit(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if len(g.conns) >= g.max {
		victim := g.victim(now)
		if victim == nil {
			_ = c.Close()
			return false
		}
		delete(g.conns, victim) // its done finds it gone
		_ = victim.Close()
	}
	g.conns[c] = &connEntry{since: now}
	return true
}

// victim picks the connection to close for a new one, or nil.
func (g *connGuard) victim(now time.Time) net.Conn {
	var waiting, stuck net.Conn
	var waitingSince, stuckSince time.Time
	for c, e := range g.conns {
		switch {
		case !e.busy && (waiting == nil || e.since.Before(waitingSince)):
			waiting, waitingSince = c, e.since
		case e.busy && now.Sub(e.since) > stuckAfter && (stuck == nil || e.since.Before(stuckSince)):
			stuck, stuckSince = c, e.since
		}
	}
	if waiting != nil {
		return waiting
	}
	return stuck
}

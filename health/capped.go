package health

import (
	"net"
	"sync"
	"time"
)

// connGuard keeps the probe listener to at most max connections without
// letting anyone who holds connections lock the probes out. When a new
// connection comes and every slot is taken, it makes room by closing one
// of the connections from the address that holds the most (a flood from
// one pod only ever closes its own connections, never the kubelet's, which
// come from the node's address), in this order:
//
//   - the oldest connection that has sent part of a request header and not
//     the rest: a real client sends it at once, so this is a trickling
//     (slowloris) sender;
//   - the oldest that waits: idle between requests, or new and silent;
//   - the oldest that has been busy with one request for longer than a
//     probe ever takes (stuckAfter: a client that does not read its
//     answer).
//
// Only when every connection is a request being answered is the new one
// closed. So thousands of idle or trickling connections, reconnecting as
// fast as they are closed, hold at most max descriptors of PID 1, and the
// kubelet's next probe, on a new connection with its whole request in one
// packet, is still answered: it is busy, and safe, as soon as it is read.
type connGuard struct {
	max int
	now func() time.Time

	mu    sync.Mutex
	conns map[net.Conn]*connEntry
}

// connState is what a connection is doing, as far as eviction cares.
type connState int

const (
	waiting connState = iota // idle between requests, or new and silent
	reading                  // part of a request header has come
	busy                     // a whole request header has come, and is answered
)

type connEntry struct {
	state  connState
	since  time.Time // when it entered state
	source string    // the client's address, without the port
}

// stuckAfter is how long a request may be in progress before a new
// connection may take its slot: a probe is answered in well under 1 ms.
const stuckAfter = time.Second

func newConnGuard(max int) *connGuard {
	return &connGuard{max: max, now: time.Now, conns: make(map[net.Conn]*connEntry)}
}

// set records what c is doing.
func (g *connGuard) set(c net.Conn, state connState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.conns[c]; ok && e.state != state {
		e.state, e.since = state, g.now()
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
	g.conns[c] = &connEntry{since: now, source: sourceOf(c)}
	return true
}

// sourceOf is c's remote address without the port.
func sourceOf(c net.Conn) string {
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// victim picks the connection to close for a new one, or nil: from the
// address with the most connections, the oldest of the first kind there is
// in the order the type's comment gives; from any address when that one
// has none to give.
func (g *connGuard) victim(now time.Time) net.Conn {
	count := make(map[string]int)
	top := ""
	for _, e := range g.conns {
		count[e.source]++
		if count[e.source] > count[top] {
			top = e.source
		}
	}
	if c := g.victimFrom(now, func(e *connEntry) bool { return e.source == top }); c != nil {
		return c
	}
	return g.victimFrom(now, func(*connEntry) bool { return true })
}

// victimFrom is victim among the connections that pick accepts.
func (g *connGuard) victimFrom(now time.Time, pick func(*connEntry) bool) net.Conn {
	var oldest [3]net.Conn // trickling, waiting, stuck
	var since [3]time.Time
	for c, e := range g.conns {
		if !pick(e) {
			continue
		}
		kind := -1
		switch {
		case e.state == reading:
			kind = 0
		case e.state == waiting:
			kind = 1
		case now.Sub(e.since) > stuckAfter:
			kind = 2
		}
		if kind >= 0 && (oldest[kind] == nil || e.since.Before(since[kind])) {
			oldest[kind], since[kind] = c, e.since
		}
	}
	for _, c := range oldest {
		if c != nil {
			return c
		}
	}
	return nil
}

package health

import (
	"net"
	"sync"
)

// capped is a listener that holds at most max connections open: one
// accepted past that is closed at once, so that a flood of connections
// can neither pile up in PID 1 nor wait in its accept queue. Unlike a
// listener that stops accepting, it keeps the queue empty: a new probe
// gets a connection, or a reset, at once.
func capped(ln net.Listener, max int) net.Listener {
	return &cappedListener{Listener: ln, slots: make(chan struct{}, max)}
}

type cappedListener struct {
	net.Listener
	slots chan struct{}
}

// Accept returns the next connection there is room for.
func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err // http.Server backs off on a temporary one (EMFILE)
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, free: func() { <-l.slots }}, nil
		default:
			_ = c.Close()
		}
	}
}

// slotConn gives its slot back when closed, once.
type slotConn struct {
	net.Conn
	once sync.Once
	free func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.free)
	return err
}

package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/supervisor"
)

func get(t *testing.T, s *Server, path string) (int, answer) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	var a answer
	if err := json.NewDecoder(rec.Body).Decode(&a); err != nil {
		t.Fatalf("%s: body is not JSON: %v", path, err)
	}
	return rec.Code, a
}

func running() *supervisor.Status {
	return &supervisor.Status{Phase: "running", Ready: true, Live: true, Children: []supervisor.ChildStatus{
		{Name: "php-fpm", Running: true, Ready: true}, {Name: "nginx", Running: true, Ready: true}}}
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status func() *supervisor.Status
		code   int
		reason string
	}{
		{"serving", running, 200, ""},
		{"php-fpm does not answer", func() *supervisor.Status {
			st := running()
			st.Ready, st.Children[0].Ready, st.Children[0].Unanswering = false, false, true
			return st
		}, 503, "php-fpm does not answer"},
		{"draining", func() *supervisor.Status {
			st := running()
			st.Phase, st.Ready, st.Draining = "draining", false, true
			return st
		}, 503, "stopping: phase draining"},
		{"php-fpm restarting", func() *supervisor.Status {
			st := running()
			st.Ready, st.Children[0].Ready = false, false
			return st
		}, 503, "php-fpm is starting or restarting"},
		{"nginx down", func() *supervisor.Status {
			st := running()
			st.Ready, st.Children[1].Running, st.Children[1].Ready = false, false, false
			return st
		}, 503, "nginx is not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{Status: tc.status, Log: zap.NewNop()}
			code, a := get(t, s, "/readyz")
			if code != tc.code || (tc.reason != "" && !strings.Contains(strings.Join(a.Reasons, "; "), tc.reason)) {
				t.Errorf("got %d %+v, want %d with %q", code, a, tc.code, tc.reason)
			}
		})
	}
}

func TestLivez(t *testing.T) {
	st := running()
	s := &Server{Status: func() *supervisor.Status { return st }, Log: zap.NewNop()}
	if code, _ := get(t, s, "/livez"); code != http.StatusOK {
		t.Errorf("live: %d", code)
	}
	st = &supervisor.Status{Phase: "stopping", Live: false}
	if code, _ := get(t, s, "/livez"); code != http.StatusServiceUnavailable {
		t.Errorf("given up: %d", code)
	}
	st = running()
	st.Live, st.Children[0].Hung = false, true
	if code, a := get(t, s, "/livez"); code != http.StatusServiceUnavailable || !strings.Contains(strings.Join(a.Reasons, ";"), "php-fpm is hung") {
		t.Errorf("php-fpm hung: %d %+v", code, a)
	}
}

// TestGuardMakesRoom: with every slot taken, a new connection closes the
// oldest waiting one; with every slot busy, the oldest stuck one; with
// every slot busy and none stuck, the new one is closed.
func TestGuardMakesRoom(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newConnGuard(3)
	g.now = func() time.Time { return now }
	pipe := func() net.Conn { c, _ := net.Pipe(); return c }
	var cs []net.Conn
	for range 3 {
		c := pipe()
		if !g.admit(c) {
			t.Fatal("a free slot refused")
		}
		cs = append(cs, c)
		now = now.Add(time.Millisecond)
	}
	closed := func(c net.Conn) bool {
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond)) // an open pipe blocks: nobody reads
		_, err := c.Write([]byte{0})
		return errors.Is(err, io.ErrClosedPipe)
	}
	// cs[0] is busy; cs[1] waits longest: it makes room.
	g.set(cs[0], busy)
	now = now.Add(time.Millisecond)
	d := pipe()
	if !g.admit(d) || !closed(cs[1]) || closed(cs[0]) {
		t.Fatal("the oldest waiting connection did not make room")
	}
	// All busy, none for long: the newcomer is refused.
	for _, c := range []net.Conn{cs[2], d} {
		g.set(c, busy)
	}
	e := pipe()
	if g.admit(e) || !closed(e) {
		t.Fatal("a newcomer got a slot from requests in progress")
	}
	// A second on, the oldest busy one counts as stuck.
	now = now.Add(2 * stuckAfter)
	f := pipe()
	if !g.admit(f) || !closed(cs[0]) {
		t.Fatal("the oldest stuck connection did not make room")
	}
	// A trickling sender goes before an older connection that waits.
	g.set(f, waiting)
	now = now.Add(time.Millisecond)
	g.set(d, reading)
	h := pipe()
	if !g.admit(h) || !closed(d) || closed(f) {
		t.Fatal("the trickling sender did not make room first")
	}
}

// TestProbesAnswerUnderAFlood: thousands of idle connections to the probe
// listener; a probe on a new connection is still answered.
func TestProbesAnswerUnderAFlood(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := running()
	s := &Server{Status: func() *supervisor.Status { return st }, Log: zap.NewNop()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, ln)
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break // the test's own descriptors ran out: enough of a flood
		}
		idle = append(idle, c)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for range 3 {
		resp, err := client.Get("http://" + ln.Addr().String() + "/readyz")
		if err != nil {
			t.Fatalf("/readyz with %d idle connections held: %v", len(idle), err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/readyz: %d", resp.StatusCode)
		}
	}
}

// addrConn is a pipe end that says it comes from addr.
type addrConn struct {
	net.Conn
	addr net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.addr }

// TestGuardEvictsFromTheBusiestAddress: a flood from one address makes
// room among its own connections, even for a newer one of another address
// that waits.
func TestGuardEvictsFromTheBusiestAddress(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newConnGuard(4)
	g.now = func() time.Time { return now }
	from := func(ip string) net.Conn {
		c, _ := net.Pipe()
		return addrConn{c, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	}
	kubelet := from("10.0.0.1")
	if !g.admit(kubelet) { // the oldest, and silent: first to go by age alone
		t.Fatal("refused")
	}
	var flood []net.Conn
	for range 3 {
		now = now.Add(time.Millisecond)
		c := from("10.0.0.9")
		g.admit(c)
		g.set(c, reading)
		flood = append(flood, c)
	}
	now = now.Add(time.Millisecond)
	if !g.admit(from("10.0.0.9")) {
		t.Fatal("refused")
	}
	g.mu.Lock()
	_, kept := g.conns[kubelet]
	_, first := g.conns[flood[0]]
	g.mu.Unlock()
	if !kept || first {
		t.Errorf("kubelet's connection kept %v, the flood's oldest kept %v: want the flood to make room", kept, first)
	}
}

package health

import (
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

// TestConnectionCap: past the cap a connection is closed at once, idle
// ones do not keep a probe from answering, and a freed slot is reused.
func TestConnectionCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := capped(ln, 3)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	var held []net.Conn
	for range 3 {
		held = append(held, <-accepted)
	}
	// The two not held are closed by the listener: a read sees EOF.
	isHeld := func(c net.Conn) bool {
		for _, h := range held {
			if h.RemoteAddr().String() == c.LocalAddr().String() {
				return true
			}
		}
		return false
	}
	closed := 0
	for _, c := range clients {
		if isHeld(c) {
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("a connection past the cap: read %v, want EOF", err)
		}
		closed++
	}
	if closed != 2 {
		t.Fatalf("%d connections past a cap of 3 with 5 open, want 2", closed)
	}
	held[0].Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot was not reused")
	}
}

func TestProbeURL(t *testing.T) {
	for addr, want := range map[string]string{
		":9180":          "http://127.0.0.1:9180/readyz",
		"0.0.0.0:9180":   "http://127.0.0.1:9180/readyz",
		"127.0.0.2:9180": "http://127.0.0.2:9180/readyz",
		"[::]:9180":      "http://127.0.0.1:9180/readyz",
	} {
		if got, err := ProbeURL(addr, "readyz"); err != nil || got != want {
			t.Errorf("ProbeURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
}

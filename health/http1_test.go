package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startHTTP1 serves h on a loopback port until the test ends.
func startHTTP1(t *testing.T, h http.Handler, tune func(*http1)) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newHTTP1(h)
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("serve did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func echoHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s host=%s ua=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("User-Agent"))
	})
	mux.HandleFunc("GET /teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	return mux
}

// TestHTTP1WithNetHTTPClient: the standard client, which keeps
// connections alive as Prometheus does, gets answers, a 404 from the mux
// and a status without a body.
func TestHTTP1WithNetHTTPClient(t *testing.T) {
	addr, _ := startHTTP1(t, echoHandler(), nil)
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 3 {
		resp, err := c.Get("http://" + addr + "/echo?n=" + fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("GET /echo n=%d host=%s ua=Go-http-client/1.1", i, addr); string(body) != want || resp.ContentLength != int64(len(want)) {
			t.Errorf("got %q (length %d), want %q", body, resp.ContentLength, want)
		}
	}
	for path, code := range map[string]int{"/nothing": 404, "/teapot": 418} {
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, code)
		}
	}
	resp, err := c.Head("http://" + addr + "/echo")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength <= 0 {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
}

// exchange writes raw to a new connection and reads until the server
// closes it.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

// TestHTTP1Protocol: pipelined keep-alive requests are answered in order;
// HTTP/1.0 and Connection: close end the connection; what this server does
// not take gets the right status and a closed connection.
func TestHTTP1Protocol(t *testing.T) {
	addr, _ := startHTTP1(t, echoHandler(), nil)
	for _, tc := range []struct{ name, raw, want string }{
		{"pipelined then close", "GET /echo?a HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?b HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n",
			"GET /echo a host=x ua=.*GET /echo b host=y ua="},
		{"HTTP/1.0", "GET /echo HTTP/1.0\r\n\r\n", "Connection: close"},
		{"header folding", "GET /echo HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"HTTP/2 version", "GET /echo HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
		{"body", "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 413 Request Entity Too Large"},
		{"chunked body", "GET /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 413"},
		{"huge header", "GET /echo HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", "HTTP/1.1 431"},
		{"many headers", "GET /echo HTTP/1.1\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", 20) + "\r\n", "HTTP/1.1 431"},
		{"no target", "GET\r\n\r\n", "HTTP/1.1 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, tc.raw)
			if !matches(got, tc.want) {
				t.Errorf("got\n%s\nwant %q", got, tc.want)
			}
		})
	}
}

// matches reports whether got holds every part of want split at ".*", in
// order.
func matches(got, want string) bool {
	for _, part := range strings.Split(want, ".*") {
		i := strings.Index(got, part)
		if i < 0 {
			return false
		}
		got = got[i+len(part):]
	}
	return true
}

// TestHTTP1Timeouts: a client that sends half a request, or none, is cut
// off once the timeout passes, and the server still answers others.
func TestHTTP1Timeouts(t *testing.T) {
	addr, _ := startHTTP1(t, echoHandler(), func(s *http1) { s.headerTimeout, s.idle = 200*time.Millisecond, 300*time.Millisecond })
	for _, raw := range []string{"GET /echo HTTP/1.1\r\nHost:", ""} {
		start := time.Now()
		exchange(t, addr, raw)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%q: connection held for %v", raw, d)
		}
	}
	if got := exchange(t, addr, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200 OK") {
		t.Errorf("after the timeouts: %q", got)
	}
}

// TestHTTP1StopClosesConnections: ending the context closes idle
// keep-alive connections and makes serve return.
func TestHTTP1StopClosesConnections(t *testing.T) {
	addr, stop := startHTTP1(t, echoHandler(), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first answer: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	stop()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after stop: %v, want EOF", err)
	}
}

// TestHTTP1ConnectionLimit: past maxConns open connections, new ones are
// closed at once; the open ones still work.
func TestHTTP1ConnectionLimit(t *testing.T) {
	addr, _ := startHTTP1(t, echoHandler(), nil)
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range maxConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	time.Sleep(100 * time.Millisecond) // let the server take them all
	// A newcomer past the cap is answered: the oldest idle connection
	// makes room (connGuard), so idle connections cannot lock probes out.
	if got := exchange(t, addr, "GET /echo HTTP/1.1\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("connection %d answered %q, want 200", maxConns+1, got)
	}
	_ = open[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if out, err := io.ReadAll(open[0]); len(out) != 0 || err != nil {
		t.Errorf("the oldest idle connection: read %q, %v; want it closed", out, err)
	}
	fmt.Fprint(open[1], "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n")
	_ = open[1].SetReadDeadline(time.Now().Add(5 * time.Second))
	if out, _ := io.ReadAll(open[1]); !strings.HasPrefix(string(out), "HTTP/1.1 200") {
		t.Errorf("an open connection: %q", out)
	}
}

// FuzzReadRequest: no request head panics the parser, and what it takes
// is a GET-like request with a path and no body.
func FuzzReadRequest(f *testing.F) {
	f.Add("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
	f.Add("HEAD /readyz?x=1 HTTP/1.0\r\n\r\n")
	f.Add("GET /a HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	f.Add("PRI * HTTP/2.0\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		req, _, err := readRequest(context.Background(), bufio.NewReaderSize(strings.NewReader(raw), 4096), "127.0.0.1:1")
		if err != nil {
			return
		}
		if req.URL == nil || !strings.HasPrefix(req.RequestURI, "/") || req.ProtoMajor != 1 || req.Body != http.NoBody {
			t.Fatalf("accepted %q as %+v", raw, req)
		}
	})
}

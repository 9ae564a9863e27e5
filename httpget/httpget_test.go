package httpget

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	var seen *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		// Chunked: no Content-Length before the first flush.
		fmt.Fprint(w, "part one, ")
		w.(http.Flusher).Flush()
		fmt.Fprint(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := Get(ctx, "tcp", srv.Listener.Addr().String(), "status.local", "/page?a=1", 20)
	if err != nil || r.Status != 200 || string(r.Body) != "part one, xxxxxxxxxx" {
		t.Errorf("got %d %q, %v", r.Status, r.Body, err)
	}
	if seen.Host != "status.local" || seen.URL.RawQuery != "a=1" || seen.Method != "GET" || !seen.Close {
		t.Errorf("request: host %q, query %q, method %s, close %v", seen.Host, seen.URL.RawQuery, seen.Method, seen.Close)
	}
	if r, err := Get(ctx, "tcp", srv.Listener.Addr().String(), "x", "/missing", 100); err != nil || r.Status != 404 {
		t.Errorf("missing: %d, %v", r.Status, err)
	}
}

func TestGetUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	r, err := Get(context.Background(), "unix", sock, "localhost", "/", 10)
	if err != nil || string(r.Body) != "ok" {
		t.Errorf("got %q, %v", r.Body, err)
	}
}

// TestGetSilentServer: a server that accepts and never answers costs the
// context's deadline, not more.
func TestGetSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			time.Sleep(10 * time.Second)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Get(ctx, "tcp", ln.Addr().String(), "x", "/", 10); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("silent server: %v after %v", err, time.Since(start))
	}
}

package fastcgi

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"
)

// TestAgainstStandardLibraryServer talks to net/http/fcgi, an independent
// implementation of the protocol's other side.
func TestAgainstStandardLibraryServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	long := strings.Repeat("x", 300) // a length that needs the four-byte form
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := fcgi.ProcessEnv(r)
		w.Header().Set("X-Long", fmt.Sprint(len(env["LONG_PARAM"])))
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := Do(ctx, "tcp", ln.Addr().String(), map[string]string{
		"REQUEST_METHOD": "GET", "REQUEST_URI": "/fpm-ping", "SCRIPT_NAME": "/fpm-ping",
		"SERVER_PROTOCOL": "HTTP/1.1", "LONG_PARAM": long,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(resp.Stdout, []byte("GET /fpm-ping")) || !bytes.Contains(resp.Stdout, []byte("X-Long: 300")) {
		t.Fatalf("stdout %q", resp.Stdout)
	}
}

func TestNothingListening(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Do(context.Background(), "tcp", addr, nil); err == nil {
		t.Fatal("no error from a closed port")
	}
}

// TestHangingServerRespectsContext: a server that accepts and says nothing
// (a php-fpm whose workers are all busy) must not hang the probe.
func TestHangingServerRespectsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(5 * time.Second)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Do(ctx, "tcp", ln.Addr().String(), nil); err == nil {
		t.Fatal("no error from a silent server")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v despite a 200ms context", d)
	}
}

// TestLargeAnswer: an answer spread over many records (net/http/fcgi
// sends at most 65535 bytes, padded, per record) arrives whole, and the
// pooled buffers do not leak one request into the next.
func TestLargeAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(fcgi.ProcessEnv(r)["SIZE"])
		fmt.Fprint(w, strings.Repeat("y", n*1000+3))
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, size := range []int{200, 1, 70} {
		resp, err := Do(ctx, "tcp", ln.Addr().String(), map[string]string{"REQUEST_METHOD": "GET", "REQUEST_URI": "/big", "SERVER_PROTOCOL": "HTTP/1.1", "SIZE": strings.Repeat("s", size)})
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := bytes.Cut(resp.Stdout, []byte("\r\n\r\n"))
		if len(body) != size*1000+3 || strings.Trim(string(body), "y") != "" {
			t.Errorf("size %d: got %d bytes", size, len(body))
		}
	}
}

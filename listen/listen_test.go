package listen

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTCP(t *testing.T) {
	for in, want := range map[string]string{
		"9000":           "127.0.0.1:9000",
		"*:8080":         "127.0.0.1:8080",
		"0.0.0.0:9000":   "127.0.0.1:9000",
		"[::]:80":        "[::1]:80",
		"127.0.0.2:81":   "127.0.0.2:81",
		"localhost:8080": "localhost:8080",
		"[::1]:9000":     "[::1]:9000",
		"http":           "127.0.0.1:http", // a service name, as nginx takes it
	} {
		got, err := ParseTCP(in)
		if err != nil || got.Network != "tcp" || got.Address != want {
			t.Errorf("ParseTCP(%q) = %+v, %v; want tcp %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:", "host:nope", "127.0.0.1:99999"} {
		if got, err := ParseTCP(bad); err == nil {
			t.Errorf("ParseTCP(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestString(t *testing.T) {
	if s := (Addr{Network: "unix", Address: "/run/php.sock"}).String(); s != "unix:/run/php.sock" {
		t.Errorf("unix String = %q", s)
	}
	if s := (Addr{Network: "tcp", Address: "127.0.0.1:9000"}).String(); s != "127.0.0.1:9000" {
		t.Errorf("tcp String = %q", s)
	}
}

// TestWaitAccepting: a TCP and a unix listener accept; a closed port makes
// the wait end with the context, naming the address.
func TestWaitAccepting(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	sock := filepath.Join(t.TempDir(), "s.sock")
	unix, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	ok := []Addr{{"tcp", tcp.Addr().String()}, {"unix", sock}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := WaitAccepting(ctx, ok, time.Millisecond); err != nil {
		t.Fatalf("WaitAccepting(listening) = %v", err)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := Addr{"tcp", closed.Addr().String()}
	closed.Close()
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	err = WaitAccepting(short, append(ok, gone), time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), gone.Address) {
		t.Fatalf("WaitAccepting(closed port) = %v, want the deadline and %s", err, gone.Address)
	}
}

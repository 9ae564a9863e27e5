package procs

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/listen"
)

// TestOwned: a listener of this process is ours; asked for on behalf of
// another pid it is foreign and names this process; a free port has none.
func TestOwned(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	sock := filepath.Join(t.TempDir(), "s.sock")
	unixLn, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer unixLn.Close()
	self := os.Getpid()
	for _, a := range []listen.Addr{{Network: "tcp", Address: tcp.Addr().String()}, {Network: "unix", Address: sock}} {
		o, err := Owned(a, []int{self})
		if err != nil || !o.Listening || !o.Ours {
			t.Fatalf("Owned(%s, self) = %+v, %v", a, o, err)
		}
		o, err = Owned(a, []int{1 << 30})
		if err != nil || !o.Listening || o.Ours || len(o.Others) != 1 || o.Others[0] != self {
			t.Fatalf("Owned(%s, other) = %+v, %v", a, o, err)
		}
		if msg := o.Foreign().Error(); !strings.Contains(msg, a.String()) || !strings.Contains(msg, "pid ") {
			t.Errorf("Foreign() = %q", msg)
		}
	}
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	if o, err := Owned(listen.Addr{Network: "tcp", Address: addr}, nil); err != nil || o.Listening {
		t.Fatalf("Owned(free port) = %+v, %v", o, err)
	}
}

// TestSockDiagAgreesWithProc: the kernel's sock_diag answer and the
// /proc/net/tcp fallback find the same listening socket.
func TestSockDiagAgreesWithProc(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	matches := func(ip net.IP, p int) bool { return p == port && ip.Equal(net.IPv4(127, 0, 0, 1)) }
	fromProc, err := procTCPSockets(matches)
	if err != nil {
		t.Fatal(err)
	}
	fromDiag, err := Sockets(listen.Addr{Network: "tcp", Address: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(fromProc) != 1 || len(fromDiag) != 1 || fromProc[0] != fromDiag[0] {
		t.Fatalf("/proc/net/tcp says %v, sock_diag %v", fromProc, fromDiag)
	}
}

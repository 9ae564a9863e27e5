package lnmptest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestVariantsAreValidForPHPFPM runs php-fpm -t on the pools and [global]
// sections the fault tests write, so a typo in them cannot pass for a
// refused reload.
func TestVariantsAreValidForPHPFPM(t *testing.T) {
	SkipUnlessRequirements(t)
	fpm, err := FindPHPFPM()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		pool   Pool
		global string
	}{
		{"static", Pool{}, ""},
		{"dynamic", Pool{PM: "dynamic", MaxChildren: 3}, ""},
		{"ondemand", Pool{PM: "ondemand"}, ""},
		{"unix", Pool{Listen: "/tmp/lnmptest-variant.sock"}, ""},
		{"global", Pool{}, "rlimit_files = 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewTestSandbox(t, Options{})
			if err := s.SetPool(tc.pool); err != nil {
				t.Fatal(err)
			}
			if err := s.SetFpmGlobal("-5", tc.global); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(fpm, "-t", "-y", s.FpmConf()).CombinedOutput()
			if err != nil || strings.Contains(string(out), "ERROR") {
				t.Fatalf("php-fpm -t: %v\n%s", err, out)
			}
		})
	}
}

// TestHoldConnsSeesTheServerClose: the held connections notice when the
// server closes them, which is what the idle-timeout test counts.
func TestHoldConnsSeesTheServerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), IdleTimeout: 200 * time.Millisecond}
	go srv.Serve(ln)
	defer srv.Close()
	h := HoldConns(ln.Addr().String(), 20, KeepAliveRequest("/"))
	defer h.Close()
	if h.Held() != 20 || h.Err != nil {
		t.Fatalf("held %d: %v", h.Held(), h.Err)
	}
	if err := WaitUntil(10*time.Second, "the server to close them", func() bool { return h.Closed() == 20 }); err != nil {
		t.Fatalf("%v: %d closed", err, h.Closed())
	}
}

// TestListenerInode finds this process's own listener and sees that it
// holds it.
func TestListenerInode(t *testing.T) {
	ln, err := HoldPort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	inode, err := ListenerInode(ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	if !HoldsSocket(os.Getpid(), inode) {
		t.Errorf("this process does not hold socket %s", inode)
	}
}

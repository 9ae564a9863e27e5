package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// attackConns is how many idle keep-alive connections the attacker holds.
const attackConns = 3000

// idleClosedWithin bounds how long the health listener may keep an idle
// keep-alive connection: this assumes an idle timeout of a minute at most.
const idleClosedWithin = 75 * time.Second

// probeOnNewConn GETs url on a fresh connection until it answers 200.
func probeOnNewConn(t *testing.T, url string) {
	t.Helper()
	if err := lnmptest.WaitHTTP(url, 200, faultWithin); err != nil {
		t.Errorf("with %d idle connections held: %v", attackConns, err)
	}
}

// TestFaultHealthListenerIdleConnections (issue 8, point 7): thousands of
// idle keep-alive connections to --health-addr must not stop /readyz
// answering a new connection, and the listener must close them after an
// idle timeout.
//
// Fails on f13e591: the connections are kept for as long as the attacker
// likes (no idle timeout): none is closed within the bound.
func TestFaultHealthListenerIdleConnections(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	_, base := startProbed(t, sb, lnmptest.RunOptions{})
	hold := lnmptest.HoldConns(strings.TrimPrefix(base, "http://"), attackConns, lnmptest.KeepAliveRequest("/livez"))
	defer hold.Close()
	if hold.Held() < attackConns {
		t.Logf("held %d connections: %v", hold.Held(), hold.Err)
	}
	probeOnNewConn(t, base+"/readyz")
	probeOnNewConn(t, base+"/livez")
	if err := lnmptest.WaitUntil(idleClosedWithin, "the idle connections to be closed", func() bool {
		return hold.Closed() >= hold.Held()
	}); err != nil {
		t.Errorf("%v: %d of %d closed", err, hold.Closed(), hold.Held())
	}
	probeOnNewConn(t, base+"/readyz")
}

// TestFaultHealthListenerCannotStarveRestarts (issue 8, point 7): lnmp-init
// under RLIMIT_NOFILE 1024, an attacker holding thousands of connections to
// its health listener, then a php-fpm crash: the restart must still happen
// (the listener never takes the descriptors the children need), PHP is
// served again, /livez answers a new connection.
//
// Fails on f13e591: the restart cannot open /dev/null ("too many open
// files") and lnmp-init exits 127.
func TestFaultHealthListenerCannotStarveRestarts(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	addr := freeAddr(t)
	base := "http://" + addr
	args := []string{"--nofile=1024", "--", os.Args[0], "--php-fpm-config=" + sb.FpmConf(), "--nginx-config=" + sb.NginxConf(),
		"--log-format=console", "--health-addr=" + addr}
	in := lnmptest.StartTestInit(t, "prlimit", args, lnmptest.RunOptions{Env: []string{testMainEnv + "=1"}})
	if err := lnmptest.WaitHTTP(base+"/readyz", 200, upWithin); err != nil {
		t.Fatal(err)
	}
	hold := lnmptest.HoldConns(addr, attackConns, lnmptest.KeepAliveRequest("/livez"))
	defer hold.Close()
	t.Logf("held %d connections (%v)", hold.Held(), hold.Err)
	time.Sleep(2 * time.Second) // let lnmp-init accept what it will
	killFpm(t, in)
	waitAnswer(t, in, sb.URL("/index.php"), "after a php-fpm crash with its descriptors under attack")
	assertAlive(t, in, "after the crash")
	probeOnNewConn(t, base+"/livez")
	if strings.Contains(in.Output(), "too many open files") {
		t.Error("lnmp-init or a child ran out of descriptors")
	}
}

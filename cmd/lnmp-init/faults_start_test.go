package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// failedStartWithin bounds the exit of a start that cannot succeed, with
// --start-timeout=10s.
const failedStartWithin = 60 * time.Second

// startWatch follows a start that must fail: /readyz and /metrics are polled
// until lnmp-init exits.
type startWatch struct {
	readyz      *lnmptest.Sampler
	nginxStarts float64 // the largest lnmp_child_starts_total{child="nginx"} seen
	fpmReady    bool    // lnmp_child_ready{child="php-fpm"} was seen at 1
	nginxSeen   bool    // an nginx process was seen in the namespace
	stop, done  chan struct{}
}

func watchStart(in *lnmptest.Init, base string) *startWatch {
	w := &startWatch{readyz: lnmptest.SampleURL(base+"/readyz", 50*time.Millisecond, 2*time.Second),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			m := metricsOf(base)
			w.nginxStarts = max(w.nginxStarts, metricNum(m, `lnmp_child_starts_total{child="nginx"}`))
			w.fpmReady = w.fpmReady || metricNum(m, `lnmp_child_ready{child="php-fpm"}`) == 1
			w.nginxSeen = w.nginxSeen || len(nginxProcs(in)) > 0
		}
	}()
	return w
}

func (w *startWatch) end() []lnmptest.Sample {
	close(w.stop)
	<-w.done
	return w.readyz.Stop()
}

// TestFaultForeignListenerAtStart (issue 8, point 3): another process (here
// the test itself: a sidecar in the pod's network namespace) listens on
// nginx's or php-fpm's port. lnmp-init must never be ready, must exit
// non-zero within a bound, and must say which address is taken; a php-fpm
// that exits during its start is never "ready", so nginx is never started.
//
// Fails on f13e591: the dial check "accepts" on the foreign listener, so
// the nginx case answers /readyz 200 for seconds while nginx exits on
// bind() errors, and in the php-fpm case php-fpm counts as ready before it
// exits 78 and nginx is started; in neither run does a warning or error of
// lnmp-init name the address.
func TestFaultForeignListenerAtStart(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct {
		name string
		port func(sb *lnmptest.Sandbox) int
	}{
		{"nginx-port", (*lnmptest.Sandbox).HTTPPort},
		{"php-fpm-port", (*lnmptest.Sandbox).FPMPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tc.port(sb)))
			held, err := lnmptest.HoldPort(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			base := "http://" + freeAddr(t)
			in := startInit(t, sb, lnmptest.RunOptions{}, "--start-timeout=10s", "--health-addr="+strings.TrimPrefix(base, "http://"))
			w := watchStart(in, base)
			code, err := in.Wait(failedStartWithin)
			samples := w.end()
			if err != nil {
				t.Fatalf("lnmp-init still runs %v after start with %s held: %v", failedStartWithin, addr, err)
			}
			if code == 0 {
				t.Errorf("exit code 0 with %s held by another process", addr)
			}
			if n := lnmptest.Count(samples, 200); n > 0 {
				t.Errorf("/readyz answered 200 %d times (of %d) while %s was held by another process", n, len(samples), addr)
			}
			if tc.name == "php-fpm-port" && (w.fpmReady || w.nginxStarts > 0 || w.nginxSeen) {
				t.Errorf("php-fpm could not bind %s, yet it counted as ready (lnmp_child_ready seen at 1: %v) and nginx was started (starts %v, process seen %v)",
					addr, w.fpmReady, w.nginxStarts, w.nginxSeen)
			}
			if !anyProblemLine(in.Output(), addr) {
				t.Errorf("no warning or error of lnmp-init names the taken address %s", addr)
			}
		})
	}
}

func anyProblemLine(out string, words ...string) bool {
	for _, l := range problemLines(out) {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			return true
		}
	}
	return false
}

// gateScript holds PID 1 back until $GATE exists, then becomes lnmp-init,
// so a test can put something into the namespace before lnmp-init starts.
const gateScript = `while [ ! -e "$GATE" ]; do sleep 0.05; done; exec "$@"`

// TestFaultForeignListenerPidNamed (issue 8, point 3): a process inside the
// container but not lnmp-init's (what `kubectl exec` starts) holds nginx's
// port. lnmp-init can see it in its /proc, so its error names the address
// and the holder's pid.
//
// Fails on f13e591: no warning or error of lnmp-init names the address with
// the pid (and /readyz answers 200 while nginx retries bind()).
func TestFaultForeignListenerPidNamed(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sb.HTTPPort()))
	gate := filepath.Join(sb.Dir(), "gate")
	base := "http://" + freeAddr(t)
	args := []string{"-c", gateScript, "sh", os.Args[0], "--php-fpm-config=" + sb.FpmConf(), "--nginx-config=" + sb.NginxConf(),
		"--log-format=console", "--start-timeout=10s", "--health-addr=" + strings.TrimPrefix(base, "http://")}
	in := lnmptest.StartTestInit(t, "/bin/sh", args, lnmptest.RunOptions{Env: []string{testMainEnv + "=1", "GATE=" + gate}})
	h, err := lnmptest.HolderIn(in, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := watchStart(in, base)
	code, err := in.Wait(failedStartWithin)
	samples := w.end()
	if err != nil {
		t.Fatalf("lnmp-init still runs %v after start with %s held by pid %d: %v", failedStartWithin, addr, h.NSPid, err)
	}
	if code == 0 {
		t.Errorf("exit code 0 with %s held", addr)
	}
	if n := lnmptest.Count(samples, 200); n > 0 {
		t.Errorf("/readyz answered 200 %d times while %s was held", n, addr)
	}
	// "pid 12", "pid=12", "\"pid\": 12", "(pid 12)": the pid next to the word.
	pid := regexp.MustCompile(fmt.Sprintf(`(?i)pid\D{0,4}(%d|%d)\b`, h.NSPid, h.HostPid))
	named := false
	for _, l := range problemLines(in.Output()) {
		named = named || (strings.Contains(l, addr) && pid.MatchString(l))
	}
	if !named {
		t.Errorf("no warning or error of lnmp-init names %s and its holder, pid %d (host pid %d)", addr, h.NSPid, h.HostPid)
	}
}

package main

import (
	"os"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// TestHuntRemovedSocketIsRestarted: php-fpm on a unix socket whose file is
// removed while the master and its idle workers run on (a second php-fpm
// started and stopped in the container by hand, `service php8.2-fpm
// restart` in an image that has the init script, a sidecar cleaning the
// shared socket directory: a php-fpm master unlinks its socket files when
// it exits). From then on nothing can connect: every PHP request is a 502
// at once. This is not saturation (no connection waits in a queue, every
// worker is idle); issue 8: "a php-fpm that has answered no FastCGI
// request for a bound you choose and document must be restarted", and "the
// container never sits up while every PHP request fails". Within
// --hang-timeout and some slack, PHP must be served again (a restart binds
// the socket anew), or at least /livez must say 503.
//
// Fails on 702a955: the hang check calls php-fpm hung only when its master
// has not run or every worker is stopped; here both run, so /readyz says
// 503 and /livez 200 forever, php-fpm is never restarted, and every PHP
// request answers 502 ("PHP still 502 ... /livez 200").
//
// Passes since c5d2823 (main, written meanwhile): a php-fpm that has not
// served for --hang-timeout is hung unless its pings only wait behind busy
// workers.
func TestHuntRemovedSocketIsRestarted(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{UnixSocket: true, Workers: 2})
	in, base := startProbed(t, sb, lnmptest.RunOptions{}, "--hang-timeout="+hangTimeout.String())
	if err := os.Remove(sb.FPMAddr()); err != nil {
		t.Fatal(err)
	}
	if st, _ := getStatus(sb.URL("/index.php")); st != 502 {
		t.Fatalf("precondition: index.php answers %d with the socket removed, not 502", st)
	}
	var php, live int
	err := lnmptest.WaitUntil(hangTimeout+faultWithin, "PHP served again, or /livez 503", func() bool {
		php, _ = getStatus(sb.URL("/index.php"))
		live, _ = getStatus(base + "/livez")
		return php == 200 || live == 503
	})
	assertAlive(t, in, "with php-fpm's socket removed")
	if err != nil {
		t.Errorf("PHP still %d and /livez %d %v after php-fpm's socket was removed: %v", php, live, hangTimeout+faultWithin, err)
	}
}

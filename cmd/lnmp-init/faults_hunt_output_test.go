package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// TestFaultLogReaderGone: whatever reads lnmp-init's output goes away (a
// log shipper or `lnmp-init | tee` dies, a runtime's log copier restarts).
// lnmp-init writes its next line into a pipe with no reader; a PID 1 must
// not die of that, taking every child with it.
//
// Fails on f13e591: the Go runtime exits on SIGPIPE at the first write to
// fd 2 after the reader is gone, so a php-fpm crash (logged) ends the
// container instead of being restarted.
func TestFaultLogReaderGone(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	fifo := filepath.Join(sb.Dir(), "log.fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	reader := exec.Command("cat", fifo)
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	defer reader.Process.Kill()
	base := "http://" + freeAddr(t)
	args := []string{"-c", `exec "$@" > "$LOG" 2>&1`, "sh", os.Args[0], "--php-fpm-config=" + sb.FpmConf(),
		"--nginx-config=" + sb.NginxConf(), "--health-addr=" + strings.TrimPrefix(base, "http://")}
	in := lnmptest.StartTestInit(t, "/bin/sh", args, lnmptest.RunOptions{Env: []string{testMainEnv + "=1", "LOG=" + fifo}})
	waitAnswer(t, in, base+"/readyz", "with a log reader")
	_ = reader.Process.Kill()
	_ = reader.Wait()
	killFpm(t, in)
	waitAnswer(t, in, sb.URL("/index.php"), "after a php-fpm crash with no reader for the log")
	assertAlive(t, in, "with no reader for the log")
}

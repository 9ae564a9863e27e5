package lnmptest

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestInitExitCode(t *testing.T) {
	SkipUnlessRequirements(t)
	in := StartTestInit(t, "/bin/sh", []string{"-c", "echo pid=$$; exit 3"}, RunOptions{})
	code, err := in.Wait(30 * time.Second)
	if err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want 3", code, err)
	}
	if out := in.Output(); !strings.Contains(out, "pid=1\n") {
		t.Errorf("output %q: the shell was not PID 1", out)
	}
}

// TestInitSigkill covers util-linux 2.38's unshare, which exits 1 instead of
// re-raising SIGKILL when its child dies of it; Wait must still say 137, as
// a runtime would.
func TestInitSigkill(t *testing.T) {
	SkipUnlessRequirements(t)
	in := StartTestInit(t, "sleep", []string{"60"}, RunOptions{})
	if err := in.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	code, err := in.Wait(30 * time.Second)
	if err != nil || code != 128+int(syscall.SIGKILL) {
		t.Fatalf("Wait = %d, %v; want 137 (output %q)", code, err, in.Output())
	}
	t.Logf("unshare's own words: %q", in.Output())
}

func TestInitKill(t *testing.T) {
	SkipUnlessRequirements(t)
	in := StartTestInit(t, "sleep", []string{"60"}, RunOptions{})
	if err := in.Kill(); err != nil {
		t.Fatal(err)
	}
	code, err := in.Wait(30 * time.Second)
	if err != nil || code != 128+int(syscall.SIGKILL) {
		t.Fatalf("Wait = %d, %v; want 137 (output %q)", code, err, in.Output())
	}
	if err := in.Signal(syscall.SIGTERM); err == nil {
		t.Error("Signal after exit succeeded; the pid may belong to someone else by now")
	}
}

func TestInitSignal(t *testing.T) {
	SkipUnlessRequirements(t)
	script := `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done`
	in := StartTestInit(t, "/bin/sh", []string{"-c", script}, RunOptions{})
	// PID 1 without a handler drops SIGTERM, so wait for the trap first.
	if err := WaitUntil(30*time.Second, "ready", func() bool { return strings.Contains(in.Output(), "ready") }); err != nil {
		t.Fatal(err)
	}
	if err := in.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := in.Wait(30 * time.Second)
	if err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
}

// TestInitDescendantsZombie makes an orphan that PID 1 (a sleep, which never
// waits) cannot reap, and checks Descendants shows it re-parented and dead.
func TestInitDescendantsZombie(t *testing.T) {
	SkipUnlessRequirements(t)
	in := StartTestInit(t, "/bin/sh", []string{"-c", "(sleep 0.2 &); exec sleep 60"}, RunOptions{})
	var zombie Proc
	err := WaitUntil(30*time.Second, "a zombie child of PID 1", func() bool {
		for _, p := range in.Descendants() {
			if p.State == "Z" && p.PPid == in.Pid() {
				zombie = p
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("%v; descendants: %+v", err, in.Descendants())
	}
	if zombie.Comm != "sleep" || zombie.NSPid <= 1 {
		t.Errorf("zombie = %+v, want a sleep with a namespace pid > 1", zombie)
	}
	if p1, ok := in.PID1(); !ok || p1.NSPid != 1 || p1.Comm != "sleep" {
		t.Errorf("PID1() = %+v, %v; want sleep with namespace pid 1", p1, ok)
	}
}

// TestInitStdioOwner pins why RootStdio exists: a non-root process can
// reopen /proc/self/fd/2 only when the pipe behind it is its own.
func TestInitStdioOwner(t *testing.T) {
	SkipUnlessRequirements(t)
	script := `id -u; echo reopened > /proc/self/fd/2`
	for _, tc := range []struct {
		rootStdio bool
		wantCode  int
	}{{false, 0}, {true, 2}} {
		in := StartTestInit(t, "/bin/sh", []string{"-c", script}, RunOptions{UID: wwwDataUID, RootStdio: tc.rootStdio})
		code, err := in.Wait(30 * time.Second)
		out := in.Output()
		if err != nil || code != tc.wantCode || !strings.HasPrefix(out, "33\n") {
			t.Errorf("RootStdio=%v: Wait = %d, %v, output %q; want code %d after uid 33",
				tc.rootStdio, code, err, out, tc.wantCode)
		}
	}
}

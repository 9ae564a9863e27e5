package lnmptest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// helperEnv makes a test binary act as one of the helper processes below
// instead of running its tests (see RunHelper).
const (
	helperEnv    = "LNMPTEST_HELPER"
	helperArgEnv = "LNMPTEST_HELPER_ARG"
)

// RunHelper makes the calling binary one of lnmptest's helper processes when
// HolderIn started it, and returns at once otherwise. A test binary that
// uses HolderIn calls it from an init function or first thing in TestMain.
func RunHelper() {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "listen":
		os.Exit(helperListen(os.Getenv(helperArgEnv)))
	default:
		fmt.Fprintf(os.Stderr, "lnmptest: unknown helper %q\n", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperListen holds a TCP listener on addr and never accepts, like a
// process that took the port and serves nothing. It prints its pid as the
// PID namespace it runs in sees it, and its host pid, read through the
// host's /proc (nsenter without --mount keeps the host's mounts).
func helperListen(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lnmptest helper: %v\n", err)
		return 1
	}
	defer ln.Close()
	host, _ := os.Readlink("/proc/self")
	fmt.Printf("listening nspid=%d hostpid=%s\n", os.Getpid(), host)
	for {
		time.Sleep(time.Hour)
	}
}

// Holder is a foreign process that listens on an address: not started by
// the init under test, not one of its descendants, yet in its PID namespace
// (what `docker exec` or `kubectl exec` starts), so the init can see it in
// its /proc.
type Holder struct {
	cmd *exec.Cmd
	// NSPid is the holder's pid inside the init's PID namespace, HostPid
	// its pid on the host.
	NSPid, HostPid int
}

// HolderIn starts the test binary itself (which must call RunHelper) inside
// in's PID namespace through nsenter, listening on addr, and returns once it
// listens. Kill it with Stop; it also dies with the namespace.
func HolderIn(in *Init, addr string) (*Holder, error) {
	if in.Pid() == 0 {
		return nil, fmt.Errorf("holder on %s: PID 1 is gone", addr)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("holder on %s: %w", addr, err)
	}
	cmd := exec.Command("nsenter", "--target", strconv.Itoa(in.Pid()), "--pid", "--", self)
	cmd.Env = append(os.Environ(), helperEnv+"=listen", helperArgEnv+"="+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("holder on %s: %w", addr, err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("holder on %s: %w", addr, err)
	}
	h := &Holder{cmd: cmd}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		var host string
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "listening nspid=%d hostpid=%s", &h.NSPid, &host); err != nil {
			h.Stop()
			return nil, fmt.Errorf("holder on %s: it said %q", addr, line)
		}
		h.HostPid, _ = strconv.Atoi(host)
		return h, nil
	case <-time.After(10 * time.Second):
		h.Stop()
		return nil, fmt.Errorf("holder on %s: %w", addr, &timeoutError{what: "the holder to listen", after: 10 * time.Second})
	}
}

// Stop kills the holder (nsenter forked it, so it is killed by host pid)
// and nsenter.
func (h *Holder) Stop() {
	if h.HostPid != 0 {
		_ = syscall.Kill(h.HostPid, syscall.SIGKILL)
	}
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	_ = h.cmd.Wait()
}

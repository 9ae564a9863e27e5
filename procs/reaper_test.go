package procs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain dispatches helper modes, so tests can start this binary as a
// child that behaves in a known way.
func TestMain(m *testing.M) {
	switch os.Getenv("SIGNALS_HELPER") {
	case "":
		os.Exit(m.Run())
	case "exit":
		code, _ := strconv.Atoi(os.Getenv("SIGNALS_CODE"))
		fmt.Println("helper output")
		os.Exit(code)
	case "orphan":
		// Leave a grandchild behind that outlives this process.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "SIGNALS_HELPER=sleep")
		if err := cmd.Start(); err != nil {
			os.Exit(3)
		}
		fmt.Println(cmd.Process.Pid)
		os.Exit(0)
	case "sleep":
		time.Sleep(200 * time.Millisecond)
		os.Exit(0)
	}
}

func helper(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "SIGNALS_HELPER="+mode), env...)
	return cmd
}

// startLoop runs the reap loop for the test's duration.
func startLoop(t *testing.T) *Reaper {
	t.Helper()
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	r := NewReaper(64)
	child := make(chan os.Signal, 1)
	unixNotify(child)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Loop(ctx, child, func(err error) { t.Error(err) }); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// TestNoExitIsLost is the race FACTS.md measured (36 of 500 exits stolen by
// a wait4(-1) loop beside Cmd.Wait): with the reaper as the only waiter,
// every one of many concurrent short-lived children reports its own status.
func TestNoExitIsLost(t *testing.T) {
	r := startLoop(t)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := i % 3
			cmd := exec.Command("sh", "-c", "exit "+strconv.Itoa(code))
			_, err := r.Run(context.Background(), cmd)
			var ee *ExitError
			switch {
			case code == 0 && err != nil:
				errs <- fmt.Errorf("run %d: want success, got %v", i, err)
			case code != 0 && (!errors.As(err, &ee) || ee.Code() != code):
				errs <- fmt.Errorf("run %d: want exit code %d, got %v", i, code, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRunCapturesOutput(t *testing.T) {
	r := startLoop(t)
	out, err := r.Run(context.Background(), helper("exit", "SIGNALS_CODE=4"))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code() != 4 {
		t.Fatalf("want exit code 4, got %v", err)
	}
	if string(out) != "helper output\n" {
		t.Fatalf("output = %q", out)
	}
}

func TestRunKillsOnContextEnd(t *testing.T) {
	r := startLoop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := r.Run(ctx, exec.Command("sleep", "30"))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Signal() != unix.SIGKILL {
		t.Fatalf("want killed by SIGKILL, got %v", err)
	}
}

// TestRunEndsWithoutTheLoop: a Run cancelled by the context that also ended
// the reap loop still reaps its command and returns.
func TestRunEndsWithoutTheLoop(t *testing.T) {
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	r := NewReaper(8)
	ctx, cancel := context.WithCancel(context.Background())
	child := make(chan os.Signal, 1)
	unixNotify(child)
	loopDone := make(chan struct{})
	go func() { r.Loop(ctx, child, func(err error) { t.Error(err) }); close(loopDone) }()
	ran := make(chan error, 1)
	go func() { _, err := r.Run(ctx, exec.Command("sleep", "30")); ran <- err }()
	time.Sleep(100 * time.Millisecond) // let sleep start
	cancel()
	<-loopDone
	select {
	case err := <-ran:
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Signal() != unix.SIGKILL {
			t.Fatalf("want killed by SIGKILL, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run never returned once the loop had stopped")
	}
}

func TestStartRoutesExitToOwner(t *testing.T) {
	r := startLoop(t)
	exits := make(chan Exit, 1)
	cmd := exec.Command("sh", "-c", "kill -TERM $$")
	if err := r.Start(cmd, exits); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-exits:
		if e.Pid != cmd.Process.Pid || e.Code() != 128+15 || e.String() != "killed by signal SIGTERM" {
			t.Fatalf("got %+v (%s, code %d)", e, e, e.Code())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit reported")
	}
}

// TestOrphanIsReaped checks that a grandchild left behind by its parent is
// re-parented here (subreaper) and reported as an orphan, not left a zombie.
func TestOrphanIsReaped(t *testing.T) {
	r := startLoop(t)
	out, err := r.Run(context.Background(), helper("orphan"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := strconv.Atoi(string(out[:len(out)-1]))
	if err != nil {
		t.Fatalf("helper printed %q", out)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.Orphans():
			if e.Pid == orphan {
				if e.Code() != 0 {
					t.Fatalf("orphan ended with %s", e)
				}
				return
			}
		case <-deadline:
			t.Fatalf("orphan %d never reported", orphan)
		}
	}
}

func TestDescendantsAndHasChildren(t *testing.T) {
	r := startLoop(t)
	exits := make(chan Exit, 1)
	cmd := exec.Command("sleep", "30")
	if err := r.Start(cmd, exits); err != nil {
		t.Fatal(err)
	}
	if left, err := HasChildren(); !left || err != nil {
		t.Fatalf("HasChildren = %v, %v with a child running", left, err)
	}
	found := false
	for _, pid := range Snapshot().Descendants(os.Getpid()) {
		found = found || pid == cmd.Process.Pid
	}
	if !found {
		t.Fatalf("child %d not among descendants", cmd.Process.Pid)
	}
	if kids := Snapshot().Children(os.Getpid()); len(kids) != 1 || kids[0] != cmd.Process.Pid {
		t.Fatalf("Children = %v, want [%d]", kids, cmd.Process.Pid)
	}
	if n := SignalDescendants(unix.SIGKILL, nil); n < 1 {
		t.Fatalf("SignalDescendants reached %d processes", n)
	}
	<-exits
	if left, err := HasChildren(); left || err != nil {
		t.Fatalf("HasChildren = %v, %v after the only child was reaped", left, err)
	}
}

// TestReadProc reads this test's own stat, whose command name the kernel
// takes from the test binary, and a name with spaces and parentheses.
func TestReadProc(t *testing.T) {
	p, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.Pid != os.Getpid() || p.PPid != os.Getppid() || p.State == 0 || p.Comm == "" || p.Stopped() {
		t.Fatalf("ReadProc(self) = %+v", p)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Fatal("ReadProc(-1) gave no error")
	}
	// The kernel names a process after the file it executed.
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(t.TempDir(), "a (b) c")
	if err := os.Symlink(sleep, odd); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "30")
	// No reap loop runs in this test: Cmd.Wait is the only waiter.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p, err := ReadProc(cmd.Process.Pid); err == nil && p.Comm == "a (b) c" && p.PPid == os.Getpid() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	p, err = ReadProc(cmd.Process.Pid)
	t.Fatalf("ReadProc(sleep) = %+v, %v", p, err)
}

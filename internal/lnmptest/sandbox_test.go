package lnmptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/procs"
)

// serveScript runs both servers under a shell as PID 1, as the simplest
// possible init would; the test stops them itself.
const serveScript = `"$1" -F -y "$2" &
"$3" -c "$4" -g 'daemon off;' &
wait`

// startDirect runs php-fpm and nginx on s without lnmp-init and waits until
// PHP answers.
func startDirect(t *testing.T, s *Sandbox, opt RunOptions) *Init {
	t.Helper()
	fpm, err := FindPHPFPM()
	if err != nil {
		t.Fatal(err)
	}
	nginx, err := FindNginx()
	if err != nil {
		t.Fatal(err)
	}
	in := StartTestInit(t, "/bin/sh", []string{"-c", serveScript, "sh", fpm, s.FpmConf(), nginx, s.NginxConf()}, opt)
	if err := WaitHTTP(s.URL("/index.php"), 200, 30*time.Second); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, in.Output())
	}
	return in
}

func TestSandboxDirect(t *testing.T) {
	SkipUnlessRequirements(t)
	for _, tc := range []struct {
		name string
		uid  int
		opts Options
	}{
		{"root", 0, Options{}},
		{"uid33", wwwDataUID, Options{}},
		{"uid33-unix-atomic", wwwDataUID, Options{UnixSocket: true, AtomicConfig: true, Workers: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewTestSandbox(t, tc.opts)
			in := startDirect(t, s, RunOptions{UID: tc.uid})
			checkPages(t, s, in)
			checkOrphan(t, s, in)
			checkReload(t, s, in)
			stopDirect(t, s, in)
			if tc.uid != 0 && !strings.Contains(in.Output(), "'user' directive is ignored") {
				t.Errorf("php-fpm as uid %d did not say it ignores user; output:\n%s", tc.uid, in.Output())
			}
		})
	}
}

func checkPages(t *testing.T, s *Sandbox, in *Init) {
	t.Helper()
	expect := func(path string, status int, body string) Result {
		t.Helper()
		r := Fetch(s.URL(path), 30*time.Second)
		if r.Err != nil || r.Status != status || (body != "" && r.Body != body) {
			t.Errorf("GET %s = %d %q, %v; want %d %q", path, r.Status, r.Body, r.Err, status, body)
		}
		return r
	}
	r := expect("/index.php", 200, BodyIndex)
	if v := r.Header.Get("X-Config-Version"); v != "1" {
		t.Errorf("X-Config-Version = %q, want 1", v)
	}
	expect("/healthz-static", 200, BodyStatic)
	expect("/env.php", 200, "1\n")
	expect("/fpm-ping", 200, "pong")
	expect("/fpm-status", 200, "")
	if r := expect("/slow.php?ms=300", 200, "done 300\n"); r.Duration() < 300*time.Millisecond {
		t.Errorf("slow.php?ms=300 took %v", r.Duration())
	}

	r = expect("/pid.php", 200, "")
	nspid, _ := strconv.Atoi(strings.TrimSpace(r.Body))
	for _, p := range in.Descendants() {
		if p.NSPid == nspid {
			if !strings.HasPrefix(p.Comm, "php-fpm") || uidOf(p.Pid) != wwwDataUID {
				t.Errorf("pid.php's worker is %+v with uid %d, want a php-fpm worker as uid %d", p, uidOf(p.Pid), wwwDataUID)
			}
			return
		}
	}
	t.Errorf("pid.php said %q, not a pid in the namespace: %+v", r.Body, in.Descendants())
}

// checkOrphan asks orphan.php for a background sleep and sees it handed to
// PID 1 once the shell that started it is gone.
func checkOrphan(t *testing.T, s *Sandbox, in *Init) {
	t.Helper()
	status, body, err := Get(s.URL("/orphan.php?s=3"), 30*time.Second)
	var nspid int
	if _, serr := fmt.Sscanf(body, "orphan %d", &nspid); err != nil || status != 200 || serr != nil {
		t.Fatalf("orphan.php = %d %q, %v", status, body, err)
	}
	err = WaitUntil(10*time.Second, "the orphan re-parented to PID 1", func() bool {
		for _, p := range in.Descendants() {
			if p.NSPid == nspid && p.PPid == in.Pid() && p.Comm == "sleep" {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Errorf("%v: %+v", err, in.Descendants())
	}
}

// checkReload changes both servers' config through the Sandbox writers and
// sees the new values served after HUP (nginx) and USR2 (php-fpm).
func checkReload(t *testing.T, s *Sandbox, in *Init) {
	t.Helper()
	fpm, nginx := masters(t, in)
	if err := s.SetHeaderVersion(2); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFpmEnvVersion(2); err != nil {
		t.Fatal(err)
	}
	if err := firstErr(syscall.Kill(nginx.Pid, syscall.SIGHUP), syscall.Kill(fpm.Pid, syscall.SIGUSR2)); err != nil {
		t.Fatal(err)
	}
	var last Result
	err := WaitUntil(30*time.Second, "version 2 from both servers", func() bool {
		last = Fetch(s.URL("/env.php"), 10*time.Second)
		return last.Body == "2\n" && last.Header.Get("X-Config-Version") == "2"
	})
	if err != nil {
		t.Errorf("%v: last answer %d %q, header %q, %v", err, last.Status, last.Body,
			last.Header.Get("X-Config-Version"), last.Err)
	}
}

// masters returns the php-fpm and nginx masters, the children of PID 1.
func masters(t *testing.T, in *Init) (fpm, nginx Proc) {
	t.Helper()
	for _, p := range in.Descendants() {
		switch {
		case p.PPid != in.Pid():
		case strings.HasPrefix(p.Comm, "php-fpm"):
			fpm = p
		case p.Comm == "nginx":
			nginx = p
		}
	}
	if fpm.Pid == 0 || nginx.Pid == 0 {
		t.Fatalf("masters not found under PID 1: %+v", in.Descendants())
	}
	return fpm, nginx
}

// stopDirect sends SIGQUIT (graceful stop) to both masters, then expects the
// shell to exit 0 and nothing from the sandbox left on the host.
func stopDirect(t *testing.T, s *Sandbox, in *Init) {
	t.Helper()
	fpm, nginx := masters(t, in)
	before := in.Descendants()
	inflight := Fire(2, s.URL("/slow.php?ms=1500"), 60*time.Second)
	err := WaitUntil(30*time.Second, "2 slow requests in php-fpm", func() bool {
		n, err := s.FpmBusy(10 * time.Second)
		return err == nil && n >= 2
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := firstErr(syscall.Kill(nginx.Pid, syscall.SIGQUIT), syscall.Kill(fpm.Pid, syscall.SIGQUIT)); err != nil {
		t.Fatal(err)
	}
	// SIGQUIT reaches the workers too; slow.php must not finish early.
	for _, r := range Collect(inflight) {
		if r.Err != nil || r.Status != 200 || r.Body != "done 1500\n" || r.Duration() < 1500*time.Millisecond {
			t.Errorf("in-flight slow.php = %d %q after %v, %v; want 200 after 1.5s", r.Status, r.Body, r.Duration(), r.Err)
		}
	}
	code, err := in.Wait(60 * time.Second)
	if err != nil || code != 0 {
		t.Errorf("shell as PID 1: Wait = %d, %v; want 0", code, err)
	}
	for _, p := range before {
		if q, err := procs.ReadProc(p.Pid); err == nil && q.Comm == p.Comm {
			t.Errorf("still running after PID 1 exited: %+v", q)
		}
	}
	if !strings.Contains(in.Output(), "exiting, bye-bye") {
		t.Errorf("php-fpm did not log its graceful exit; output:\n%s", in.Output())
	}
	if left := hostProcsMentioning(s.Dir()); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	for _, f := range []string{s.NginxPidFile(), s.FpmPidFile()} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s still there after a graceful stop", filepath.Base(f))
		}
	}
}

// TestSandboxRootStdio pins the Docker and Kubernetes failure RootStdio
// reproduces: php-fpm as uid 33 cannot reopen a root-owned stderr through
// /proc/self/fd/2 and exits with EX_CONFIG.
func TestSandboxRootStdio(t *testing.T) {
	SkipUnlessRequirements(t)
	fpm, _ := FindPHPFPM()
	s := NewTestSandbox(t, Options{})
	in := StartTestInit(t, fpm, []string{"-F", "-y", s.FpmConf()}, RunOptions{UID: wwwDataUID, RootStdio: true})
	code, err := in.Wait(30 * time.Second)
	const want = "failed to open error_log (/proc/self/fd/2): Permission denied"
	if err != nil || code != 78 || !strings.Contains(in.Output(), want) {
		t.Errorf("Wait = %d, %v; want 78 and %q in output:\n%s", code, err, want, in.Output())
	}
}

func hostProcsMentioning(s string) []Proc {
	var found []Proc
	for _, p := range procs.Snapshot() {
		if strings.Contains(procs.Cmdline(p.Pid), s) {
			found = append(found, describe(p))
		}
	}
	return found
}

func uidOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	return -1
}

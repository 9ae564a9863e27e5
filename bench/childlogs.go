package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The child-output scenario: nginx serving a static answer as fast as the
// machine allows, one access log line a request to /dev/stdout, through
// the relay in each mode.
const (
	logClients   = 8
	logDuration  = 5 * time.Second
	logSettle    = 5 * time.Second // for the last lines to arrive after the load
	clockTicks   = 100             // /proc's unit of CPU time (USER_HZ)
	logUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	logReferer   = "https://shop.example.com/orders?page=2"
)

// logSample is one run of one mode.
type logSample struct {
	requests int           // 200s during the load
	lines    int           // access log lines that reached the relay's stdout
	elapsed  time.Duration // of the load
	relayCPU time.Duration // user + system, during the load and settling
	nginxCPU time.Duration
	report   relayReport
}

// childLogBenchmark measures every mode runs times, round after round.
func (r runner) childLogBenchmark(ctx context.Context, runs int, log io.Writer) (map[string][]logSample, bool) {
	samples := make(map[string][]logSample)
	failed := false
	for i := 1; i <= runs && ctx.Err() == nil; i++ {
		for _, m := range relayModes {
			s, err := r.measureChildLogs(ctx, m.name)
			if ctx.Err() != nil {
				return samples, true
			}
			if err != nil {
				fmt.Fprintf(log, "bench: child logs run %d/%d, %s: %v\n", i, runs, m.name, err)
				failed = true
				continue
			}
			fmt.Fprintf(log, "bench: child logs run %d/%d: %s, %d lines/s\n", i, runs, m.name, int(float64(s.lines)/s.elapsed.Seconds()))
			samples[m.name] = append(samples[m.name], s)
		}
	}
	return samples, failed
}

// measureChildLogs runs the relay in mode in front of nginx, loads nginx
// and counts what comes out.
func (r runner) measureChildLogs(ctx context.Context, mode string) (logSample, error) {
	var s logSample
	dir, err := os.MkdirTemp("", "lnmp-bench-logs-")
	if err != nil {
		return s, err
	}
	defer os.RemoveAll(dir)
	sb, err := lnmptest.NewSandbox(dir, lnmptest.Options{})
	if err != nil {
		return s, err
	}
	addr, err := freeAddr()
	if err != nil {
		return s, err
	}
	if err := sb.SetConfD("access-log.conf", accessLogServer(addr)); err != nil {
		return s, err
	}
	relay, err := startRelay(mode, r.bin.nginx, sb.NginxConf())
	if err != nil {
		return s, err
	}
	defer relay.kill()
	url := "http://" + addr + "/"
	if err := lnmptest.WaitHTTP(url, http.StatusOK, 10*time.Second); err != nil {
		return s, fmt.Errorf("%w\n%s", err, relay.stderr.String())
	}
	return relay.measure(ctx, url)
}

// accessLogServer is a server whose every request writes one combined
// access log line to /dev/stdout, which nginx opens by path.
func accessLogServer(addr string) string {
	return fmt.Sprintf(`server {
    listen %s;
    access_log /dev/stdout combined;
    location / { return 200 "ok\n"; }
}
`, addr)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// relayProc is a running relay and what it writes.
type relayProc struct {
	cmd    *exec.Cmd
	lines  atomic.Int64 // newlines read from its stdout
	read   chan struct{}
	report *os.File
	stderr *lockedBuffer
}

func startRelay(mode, nginx, conf string) (*relayProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p := &relayProc{read: make(chan struct{}), report: repR, stderr: &lockedBuffer{}}
	p.cmd = exec.Command(self, nginx, conf)
	p.cmd.Env = append(os.Environ(), relayEnv+"="+mode)
	p.cmd.Stdout, p.cmd.Stderr, p.cmd.ExtraFiles = outW, p.stderr, []*os.File{repW}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = p.cmd.Start()
	outW.Close()
	repW.Close()
	if err != nil {
		outR.Close()
		repR.Close()
		return nil, fmt.Errorf("start relay: %w", err)
	}
	go func() {
		defer close(p.read)
		defer outR.Close()
		// As a container runtime does: read, as fast as it comes.
		buf := make([]byte, 256<<10)
		for {
			n, err := outR.Read(buf)
			p.lines.Add(int64(bytes.Count(buf[:n], []byte("\n"))))
			if err != nil {
				return
			}
		}
	}()
	return p, nil
}

// measure loads url, then stops the relay and reads its report.
func (p *relayProc) measure(ctx context.Context, url string) (logSample, error) {
	var s logSample
	pid := p.cmd.Process.Pid
	relay0, nginx0 := cpuTime(pid), treeCPU(pid)-cpuTime(pid)
	lines0 := p.lines.Load()
	began := time.Now()
	s.requests = keepAliveLoad(ctx, url, logClients, logDuration)
	s.elapsed = time.Since(began)
	for end := time.Now().Add(logSettle); time.Now().Before(end) && int(p.lines.Load()-lines0) < s.requests; {
		time.Sleep(20 * time.Millisecond)
	}
	s.lines = int(p.lines.Load() - lines0)
	s.relayCPU, s.nginxCPU = cpuTime(pid)-relay0, treeCPU(pid)-cpuTime(pid)-nginx0
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := json.NewDecoder(p.report).Decode(&s.report); err != nil {
		return s, fmt.Errorf("relay report: %w\n%s", err, p.stderr.String())
	}
	if err := p.cmd.Wait(); err != nil {
		return s, fmt.Errorf("relay: %w\n%s", err, p.stderr.String())
	}
	<-p.read
	return s, nil
}

func (p *relayProc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.report.Close()
}

// keepAliveLoad sends requests back to back on clients kept-alive
// connections for d and returns how many got 200.
func keepAliveLoad(ctx context.Context, url string, clients int, d time.Duration) int {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header.Set("User-Agent", logUserAgent)
				req.Header.Set("Referer", logReferer)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

// cpuTime is a process's user + system CPU time from /proc, 0 when gone.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command, which is in parentheses and may hold
	// blanks: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// treeCPU is the CPU time of pid and every process below it. Children
// are listed per thread: a Go program starts them from any of its threads.
func treeCPU(pid int) time.Duration {
	total := cpuTime(pid)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, c := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(c); err == nil {
				total += treeCPU(n)
			}
		}
	}
	return total
}

// lockedBuffer is a bytes.Buffer that exec's copy goroutine and an error
// path may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

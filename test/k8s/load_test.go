package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// load is the traffic of every scenario, all sent to one base URL (a
// Service's ClusterIP): two clients opening a new connection per request,
// two on keep-alive connections, and three that always keep a slow PHP
// request (slow.php, 3.5 s) in flight. Bounded: it stops with stop() or,
// at the latest, after maxLoad.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	total   map[string]int
	failed  map[string]int
	reasons map[string]int
	samples []string
}

const (
	maxLoad   = 5 * time.Minute
	slowPage  = "/slow.php?s=3.5"
	fastPause = 25 * time.Millisecond
)

func startLoad(base string) *load {
	ctx, cancel := context.WithTimeout(context.Background(), maxLoad)
	l := &load{cancel: cancel, total: map[string]int{}, failed: map[string]int{}, reasons: map[string]int{}}
	newConn := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 2; i++ {
		keepAlive := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		l.loop(ctx, "new", newConn, base+"/", "Hello from lnmp-init", fastPause)
		l.loop(ctx, "keepalive", keepAlive, base+"/", "Hello from lnmp-init", fastPause)
	}
	slow := &http.Client{Timeout: 40 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 3; i++ {
		l.loop(ctx, "slow", slow, base+slowPage, "Slept", 0)
	}
	return l
}

func (l *load) loop(ctx context.Context, kind string, c *http.Client, url, want string, pause time.Duration) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for ctx.Err() == nil {
			l.count(kind, get(c, url, want))
			if pause > 0 {
				time.Sleep(pause)
			}
		}
	}()
}

// get asks url and checks for a 200 whose body holds want. Requests are
// not sent with the load's context: stop() lets those in flight finish.
func get(c *http.Client, url, want string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if !strings.Contains(string(body), want) {
		return fmt.Errorf("body without %q: %.80q", want, body)
	}
	return nil
}

func (l *load) count(kind string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total[kind]++
	if err == nil {
		return
	}
	l.failed[kind]++
	l.reasons[kind+": "+reason(err)]++
	if len(l.samples) < 5 {
		l.samples = append(l.samples, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), kind, err))
	}
}

// reason names a failure by its kind: status, reset, refused, timeout, EOF.
func reason(err error) string {
	var ne net.Error
	switch {
	case strings.HasPrefix(err.Error(), "status "):
		return err.Error()
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if len(msg) > 40 {
		msg = msg[:40]
	}
	return "other (" + msg + ")"
}

// loadResult is what stop() reports.
type loadResult struct {
	total, failed int
	byKind        string // "new 1200/0, keepalive 1300/0, slow 40/0"
	reasons       string
	samples       []string
}

// stop ends the load and waits for the requests in flight (slow ones too).
func (l *load) stop() loadResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	var r loadResult
	var kinds []string
	for _, k := range []string{"new", "keepalive", "slow"} {
		r.total += l.total[k]
		r.failed += l.failed[k]
		kinds = append(kinds, fmt.Sprintf("%s %d/%d", k, l.total[k], l.failed[k]))
	}
	r.byKind = strings.Join(kinds, ", ")
	var reasons []string
	for k, n := range l.reasons {
		reasons = append(reasons, fmt.Sprintf("%s x%d", k, n))
	}
	sort.Strings(reasons)
	r.reasons = strings.Join(reasons, "; ")
	r.samples = l.samples
	return r
}

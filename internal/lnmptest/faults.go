package lnmptest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// HoldPort listens on addr in this process and never accepts: a foreign
// process holding a port (a sidecar in the same network namespace). The
// kernel still completes connections into its backlog, so a plain dial
// "succeeds" while nothing will ever answer. Close releases it.
func HoldPort(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hold %s: %w", addr, err)
	}
	return ln, nil
}

// Freeze SIGSTOPs every pid; Thaw SIGCONTs them. A stopped process keeps
// its sockets, so connections to it queue and hang, as with a hung server.
func Freeze(pids ...int) error {
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return fmt.Errorf("SIGSTOP %d: %w", pid, err)
		}
	}
	return nil
}

// Thaw SIGCONTs every pid, ignoring the ones already gone.
func Thaw(pids ...int) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
}

// Pids returns the pids of procs.
func Pids(procs []Proc) []int {
	var out []int
	for _, p := range procs {
		out = append(out, p.Pid)
	}
	return out
}

// ConnHold is a set of connections held open to one address, as an
// attacker exhausting a server's descriptors would hold them.
type ConnHold struct {
	conns  []net.Conn
	closed atomic.Int64
	wg     sync.WaitGroup
	// Err is why dialling stopped short of n, if it did.
	Err error
}

// HoldConns opens up to n connections to addr, one after the other. When
// request is not empty each connection sends it once (an HTTP/1.1 keep-alive
// request, say) and then stays idle; its response is read and discarded. A
// goroutine per connection notices when the server closes it (Closed).
// Dialling stops at the first failure, recorded in Err.
func HoldConns(addr string, n int, request string) *ConnHold {
	h := &ConnHold{}
	for range n {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			h.Err = fmt.Errorf("connection %d to %s: %w", len(h.conns)+1, addr, err)
			break
		}
		if request != "" {
			if _, err := io.WriteString(c, request); err != nil {
				c.Close()
				h.Err = fmt.Errorf("connection %d to %s: send: %w", len(h.conns)+1, addr, err)
				break
			}
		}
		h.conns = append(h.conns, c)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			_, _ = io.Copy(io.Discard, c) // ends when either side closes
			h.closed.Add(1)
		}()
	}
	return h
}

// KeepAliveRequest is an HTTP/1.1 request that leaves its connection open.
func KeepAliveRequest(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: lnmptest\r\nConnection: keep-alive\r\n\r\n"
}

// Held returns how many connections were opened.
func (h *ConnHold) Held() int { return len(h.conns) }

// Closed returns how many of them have been closed, by either side.
func (h *ConnHold) Closed() int { return int(h.closed.Load()) }

// Close closes every connection and waits for their readers.
func (h *ConnHold) Close() {
	for _, c := range h.conns {
		c.Close()
	}
	h.wg.Wait()
}

// Sample is one answer a Sampler got: Status 0 means no answer.
type Sample struct {
	At     time.Time
	Status int
	Err    error
}

// Sampler GETs one URL over and over in the background, every interval, on
// a keep-alive connection (so it can poll fast without using up ports),
// until Stop.
type Sampler struct {
	mu      sync.Mutex
	samples []Sample
	stop    chan struct{}
	done    chan struct{}
}

// SampleURL starts polling url every interval, each GET bounded by timeout.
func SampleURL(url string, interval, timeout time.Duration) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: timeout}
	go func() {
		defer close(s.done)
		defer client.CloseIdleConnections()
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			smp := Sample{At: time.Now()}
			resp, err := client.Get(url)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				smp.Status = resp.StatusCode
			}
			smp.Err = err
			s.mu.Lock()
			s.samples = append(s.samples, smp)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	return s
}

// Samples returns what was seen so far.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

// Stop ends the polling and returns every sample.
func (s *Sampler) Stop() []Sample {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.Samples()
}

// Count returns how many samples had status code (0: no answer).
func Count(samples []Sample, code int) int {
	n := 0
	for _, s := range samples {
		if s.Status == code {
			n++
		}
	}
	return n
}

// Not returns the samples whose status is not code.
func Not(samples []Sample, code int) []Sample {
	var out []Sample
	for _, s := range samples {
		if s.Status != code {
			out = append(out, s)
		}
	}
	return out
}

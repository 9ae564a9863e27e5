package lnmptest

import (
	"sync"
	"time"
)

// Traffic is clients that GET their URLs in a loop, each request on a new
// connection (Fetch), and keep every result: what users see over time.
type Traffic struct {
	mu      sync.Mutex
	results []Result
	stop    chan struct{}
	wg      sync.WaitGroup
}

// StartTraffic starts one client per URL in urls (repeat a URL for more
// clients on it), each pausing pause between requests.
func StartTraffic(urls []string, pause, timeout time.Duration) *Traffic {
	tr := &Traffic{stop: make(chan struct{})}
	for _, u := range urls {
		tr.wg.Go(func() {
			for {
				select {
				case <-tr.stop:
					return
				default:
				}
				r := Fetch(u, timeout)
				tr.mu.Lock()
				tr.results = append(tr.results, r)
				tr.mu.Unlock()
				select {
				case <-tr.stop:
					return
				case <-time.After(pause):
				}
			}
		})
	}
	return tr
}

// Results returns the results so far.
func (tr *Traffic) Results() []Result {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Result(nil), tr.results...)
}

// Stop ends every client, waits for their last request, and returns all
// results.
func (tr *Traffic) Stop() []Result {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
	return tr.Results()
}

// Failed returns the results that are not a 200 with a complete body.
func Failed(results []Result) []Result {
	var out []Result
	for _, r := range results {
		if r.Status != 200 || r.Err != nil {
			out = append(out, r)
		}
	}
	return out
}

// Since returns the results of requests that started at or after t.
func Since(results []Result, t time.Time) []Result {
	var out []Result
	for _, r := range results {
		if !r.Start.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

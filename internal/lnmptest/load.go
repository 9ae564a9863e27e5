package lnmptest

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Result is one request's outcome. Status is 0 when no response arrived.
type Result struct {
	Status int
	Body   string
	Header http.Header
	Err    error
	Start  time.Time
	End    time.Time
}

// Duration returns how long the request took.
func (r Result) Duration() time.Duration { return r.End.Sub(r.Start) }

// Fetch GETs url on a new connection that is closed afterwards. Keep-alive
// would hide drain behaviour: a reused connection skips the listening
// socket that a graceful stop closes first. A body cut short returns the
// status, the partial body and the error.
func Fetch(url string, timeout time.Duration) Result {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	res := Result{Start: time.Now()}
	resp, err := client.Get(url)
	if err != nil {
		res.End = time.Now()
		res.Err = fmt.Errorf("GET %s: %w", url, err)
		return res
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.End = time.Now()
	res.Status, res.Body, res.Header = resp.StatusCode, string(body), resp.Header
	if err != nil {
		res.Err = fmt.Errorf("GET %s: read body: %w", url, err)
	}
	return res
}

// Get is Fetch for callers that want only the status and the body.
func Get(url string, timeout time.Duration) (status int, body string, err error) {
	r := Fetch(url, timeout)
	return r.Status, r.Body, r.Err
}

// Fire starts n concurrent Fetches of url and delivers each result as it
// completes; the channel is closed after the last one. It does not wait for
// the requests to reach the server: poll something server-side (e.g.
// /fpm-status) before acting on "requests in flight".
func Fire(n int, url string, timeout time.Duration) <-chan Result {
	out := make(chan Result, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			out <- Fetch(url, timeout)
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// Collect drains a Fire channel.
func Collect(results <-chan Result) []Result {
	var all []Result
	for r := range results {
		all = append(all, r)
	}
	return all
}

// WaitHTTP polls url until it answers with status, for readiness after a
// start or a reload.
func WaitHTTP(url string, status int, timeout time.Duration) error {
	var last Result
	err := WaitUntil(timeout, fmt.Sprintf("GET %s to answer %d", url, status), func() bool {
		last = Fetch(url, 2*time.Second)
		return last.Err == nil && last.Status == status
	})
	if err != nil {
		return fmt.Errorf("%w (last: status %d, error %v)", err, last.Status, last.Err)
	}
	return nil
}

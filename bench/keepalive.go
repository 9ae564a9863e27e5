package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The keep-alive measurement (issue 8): what an nginx reload costs clients
// that hold keep-alive connections. On SIGHUP nginx's old workers close
// their idle keep-alive connections at once; a request the client wrote on
// such a connection just then finds it closed. HTTP clients resend GETs on
// a reused connection that closed before any response (Go's transport
// does), but not POSTs: those are lost. Each client keeps one connection
// and pauses a little between requests, so connections sit idle part of
// the time, as behind a load balancer's pool.
const (
	keepAliveClients = 8                      // one connection each; half send POSTs, half GETs
	keepAliveReloads = 20                     // nginx config swaps per run
	keepAliveEvery   = 500 * time.Millisecond // between swaps, above lnmp-init's debounce
	keepAlivePause   = 20 * time.Millisecond  // a client's pause between requests is random below this
)

// keepAliveSample is what one keep-alive run measured.
type keepAliveSample struct {
	reloads            int // nginx reloads done during the run
	posts, postsFailed int
	gets, getsFailed   int
	example            string // one failed POST's error
}

// keepAliveBenchmark does runs keep-alive runs of lnmp-init.
func keepAliveBenchmark(ctx context.Context, r runner, runs int, log io.Writer) (samples []keepAliveSample, failed bool) {
	return repeatRuns(ctx, runs, log, "keep-alive", r.measureKeepAlive)
}

// measureKeepAlive starts lnmp-init on a ConfigMap-style sandbox, keeps the
// clients busy, and swaps nginx's conf.d keepAliveReloads times.
func (r runner) measureKeepAlive(ctx context.Context) (keepAliveSample, error) {
	var s keepAliveSample
	opts := sandboxOptions()
	opts.AtomicConfig = true
	err := r.withInit(ctx, nameLnmpInit, opts, func(sb *lnmptest.Sandbox, in *lnmptest.Init, _ time.Time) error {
		configs := reloadables(sb)
		if err := waitWatching(ctx, in, configs); err != nil {
			return err
		}
		nginx := configs[0]
		before := reloadResults(in.Output())
		l := startReloadClients(ctx, sb.URL("/index.php"))
		defer l.stop() // on an error; the counts below stop it first
		start := time.Now()
		for v := 2; v <= keepAliveReloads+1; v++ {
			if err := sleepUntil(ctx, start.Add(time.Duration(v-1)*keepAliveEvery)); err != nil {
				return err
			}
			if err := nginx.set(v); err != nil {
				return fmt.Errorf("swap nginx config to version %d: %w", v, err)
			}
		}
		if _, err := waitVersion(ctx, in, nginx, keepAliveReloads+1); err != nil {
			return err
		}
		// A last pause, so the last reload's old workers have gone.
		if err := sleepUntil(ctx, time.Now().Add(keepAliveEvery)); err != nil {
			return err
		}
		l.stop()
		s.posts, s.postsFailed, s.gets, s.getsFailed, s.example = l.counts()
		after, err := settledReloads(ctx, in)
		if err != nil {
			return err
		}
		ok, _ := reloadsBetween(before, after)
		s.reloads = ok[nameNginx]
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("%s, keep-alive run: %w", nameLnmpInit, err)
	}
	return s, nil
}

// reloadClients are the keep-alive clients of one run.
type reloadClients struct {
	done               chan struct{}
	stopOnce           sync.Once
	wg                 sync.WaitGroup
	posts, postsFailed atomic.Int64
	gets, getsFailed   atomic.Int64
	mu                 sync.Mutex
	example            string
	transports         []*http.Transport
}

// startReloadClients starts keepAliveClients clients on url, each with a
// transport of its own holding one keep-alive connection.
func startReloadClients(ctx context.Context, url string) *reloadClients {
	l := &reloadClients{done: make(chan struct{})}
	for i := range keepAliveClients {
		tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
		l.transports = append(l.transports, tr)
		client := &http.Client{Transport: tr, Timeout: requestTimeout}
		post := i%2 == 0
		l.wg.Go(func() {
			for ctx.Err() == nil {
				select {
				case <-l.done:
					return
				case <-time.After(rand.N(keepAlivePause)):
				}
				l.record(post, send(ctx, client, url, post))
			}
		})
	}
	return l
}

// send makes one request and reads its whole answer: nil only for a 200.
func send(ctx context.Context, client *http.Client, url string, post bool) error {
	method, body := http.MethodGet, io.Reader(nil)
	if post {
		method, body = http.MethodPost, strings.NewReader("comment=keep-alive")
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if post {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

func (l *reloadClients) record(post bool, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	sent, failed := &l.gets, &l.getsFailed
	if post {
		sent, failed = &l.posts, &l.postsFailed
	}
	sent.Add(1)
	if err == nil {
		return
	}
	failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.example == "" {
		l.example = err.Error()
	}
}

// stop stops the clients, waits for their last requests and closes their
// connections; calls after the first do nothing.
func (l *reloadClients) stop() {
	l.stopOnce.Do(func() {
		close(l.done)
		l.wg.Wait()
		for _, tr := range l.transports {
			tr.CloseIdleConnections()
		}
	})
}

func (l *reloadClients) counts() (posts, postsFailed, gets, getsFailed int, example string) {
	return int(l.posts.Load()), int(l.postsFailed.Load()), int(l.gets.Load()), int(l.getsFailed.Load()), l.example
}

// printKeepAlive prints the keep-alive table: the runs summed, since a
// lost POST is a rare event, and the POSTs lost per reload.
func printKeepAlive(w io.Writer, samples []keepAliveSample, runs int) {
	header := []string{"init", "nginx reloads", "keep-alive POSTs", "failed", "per reload", "keep-alive GETs", "failed"}
	row := []string{nameLnmpInit, "failed", "failed", "failed", "failed", "failed", "failed"}
	example := ""
	if len(samples) > 0 {
		var sum keepAliveSample
		for _, s := range samples {
			sum.reloads += s.reloads
			sum.posts += s.posts
			sum.postsFailed += s.postsFailed
			sum.gets += s.gets
			sum.getsFailed += s.getsFailed
			if example == "" {
				example = s.example
			}
		}
		perReload := "n/a"
		if sum.reloads > 0 {
			perReload = strconv.FormatFloat(float64(sum.postsFailed)/float64(sum.reloads), 'f', 2, 64)
		}
		row = []string{nameLnmpInit, strconv.Itoa(sum.reloads), strconv.Itoa(sum.posts), strconv.Itoa(sum.postsFailed),
			perReload, strconv.Itoa(sum.gets), strconv.Itoa(sum.getsFailed)}
	}
	fmt.Fprint(w, markdownTable(header, [][]string{row}))
	fmt.Fprintf(w, "\nKeep-alive: %d clients with one keep-alive connection each to /index.php (half POST, half GET, a random pause under %d ms between requests) "+
		"while nginx's conf.d changes %d times, %g s apart, as a ConfigMap volume; %s summed. A failed request is an error or a status other than 200.",
		keepAliveClients, keepAlivePause.Milliseconds(), keepAliveReloads, keepAliveEvery.Seconds(), plural(runs, "run"))
	if example != "" {
		fmt.Fprintf(w, " A failed POST: %s.", example)
	}
	fmt.Fprint(w, "\n\n")
}

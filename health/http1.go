package health

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The listener's limits. Its clients (the kubelet, Prometheus, `lnmp-init
// probe`, a HEALTHCHECK) send small GETs; anything else is refused.
const (
	maxHeaderBytes    = 16 << 10
	readHeaderTimeout = 5 * time.Second
	// idleTimeout closes a keep-alive connection that sends nothing for
	// that long: longer than Prometheus's usual 15 s between scrapes, short
	// enough that idle connections do not pile up (and at the cap the
	// oldest waiting one makes room anyway, see connGuard).
	idleTimeout  = 30 * time.Second
	writeTimeout = 10 * time.Second
	maxConns     = 64
)

// errTooLarge is a request head over maxHeaderBytes.
var errTooLarge = errors.New("request header too large")

// http1 serves HTTP/1.0 and 1.1 GET and HEAD requests without a body to a
// handler, with keep-alive. It stands in for net/http's Server, which with
// its HTTP/2 and TLS support costs PID 1 about 2 MiB of resident memory
// (README, "Dependencies, and why"); the handlers stay ordinary
// http.Handlers. Responses are buffered and sent with a Content-Length.
type http1 struct {
	handler http.Handler
	guard   *connGuard // at most maxConns open, making room for newcomers
	bufs    sync.Pool  // of *connBufs
	// The timeouts, fields so tests can shorten them.
	headerTimeout, idle, write time.Duration

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// connBufs are a connection's reader and response buffer, reused across
// connections so a scrape allocates little.
type connBufs struct {
	r    *bufio.Reader
	body bytes.Buffer
	head bytes.Buffer
}

func newHTTP1(h http.Handler) *http1 {
	s := &http1{handler: h, guard: newConnGuard(maxConns), conns: map[net.Conn]struct{}{},
		headerTimeout: readHeaderTimeout, idle: idleTimeout, write: writeTimeout}
	s.bufs.New = func() any { return &connBufs{r: bufio.NewReaderSize(nil, 4096)} }
	return s
}

// serve accepts on ln until ctx ends or accepting fails, then closes ln
// and every connection.
func (s *http1) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { s.closeAll(ln) })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.closeAll(ln)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: try again
				continue
			}
			return err
		}
		if !s.guard.admit(c) {
			continue // closed: every slot is a request in progress
		}
		if !s.track(c, true) {
			s.guard.done(c)
			_ = c.Close()
			continue
		}
		wg.Go(func() {
			defer s.guard.done(c)
			defer s.track(c, false)
			defer c.Close()
			s.serveConn(ctx, c)
		})
	}
}

// closeAll closes ln and every open connection, and refuses new ones.
func (s *http1) closeAll(ln net.Listener) {
	_ = ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

// track adds or removes c from the open connections; adding fails once
// closeAll has run.
func (s *http1) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// serveConn answers requests on c until the client closes, asks to close,
// goes idle too long, or sends something this server does not take.
func (s *http1) serveConn(ctx context.Context, c net.Conn) {
	b := s.bufs.Get().(*connBufs)
	defer s.bufs.Put(b)
	b.r.Reset(c)
	defer b.r.Reset(nil)
	for ctx.Err() == nil {
		_ = c.SetReadDeadline(time.Now().Add(s.idle))
		if _, err := b.r.Peek(1); err != nil {
			return
		}
		s.guard.set(c, reading)
		_ = c.SetReadDeadline(time.Now().Add(s.headerTimeout))
		req, keep, err := readRequest(ctx, b.r, c.RemoteAddr().String())
		if err != nil {
			s.refuse(c, b, err)
			return
		}
		// Busy from the whole header on, not from its first byte: a real
		// client sends it at once, so a connection still short of it is a
		// slow or hostile sender, the first to go.
		s.guard.set(c, busy)
		_ = c.SetWriteDeadline(time.Now().Add(s.write))
		w := &response{header: http.Header{}, body: &b.body}
		b.body.Reset()
		s.handler.ServeHTTP(w, req)
		if err := w.send(c, &b.head, req, keep); err != nil || !keep {
			return
		}
		s.guard.set(c, waiting)
	}
}

// refuse answers a request this server does not take, then the caller
// closes the connection.
func (s *http1) refuse(c net.Conn, b *connBufs, err error) {
	code := http.StatusBadRequest
	switch {
	case errors.Is(err, errTooLarge):
		code = http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, errVersion):
		code = http.StatusHTTPVersionNotSupported
	case errors.Is(err, errBody):
		code = http.StatusRequestEntityTooLarge
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return // the client is gone or too slow: nothing to answer
	}
	_ = c.SetWriteDeadline(time.Now().Add(s.write))
	b.body.Reset()
	b.body.WriteString(err.Error() + "\n")
	w := &response{header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, body: &b.body, code: code}
	_ = w.send(c, &b.head, nil, false)
}

var (
	errVersion = errors.New("HTTP version not supported: use HTTP/1.1")
	errBody    = errors.New("request bodies are not accepted")
)

// readRequest reads a request line and headers. keep says whether the
// connection may serve another request after this one.
func readRequest(ctx context.Context, r *bufio.Reader, remote string) (*http.Request, bool, error) {
	read := 0
	line := func() (string, error) {
		l, err := r.ReadSlice('\n')
		read += len(l)
		if errors.Is(err, bufio.ErrBufferFull) || read > maxHeaderBytes {
			return "", errTooLarge
		}
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(l), "\r\n"), nil
	}
	first, err := line()
	if err != nil {
		return nil, false, err
	}
	req, err := parseRequestLine(first)
	if err != nil {
		return nil, false, err
	}
	for {
		l, err := line()
		if err != nil {
			return nil, false, err
		}
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, false, fmt.Errorf("malformed header line %.60q", l)
		}
		req.Header.Add(textproto.CanonicalMIMEHeaderKey(k), strings.TrimSpace(v))
	}
	if cl := req.Header.Get("Content-Length"); (cl != "" && cl != "0") || req.Header.Get("Transfer-Encoding") != "" {
		return nil, false, errBody
	}
	// HTTP/1.0: one request per connection.
	keep := req.ProtoMinor >= 1 && !strings.Contains(strings.ToLower(req.Header.Get("Connection")), "close")
	req.Host, req.RemoteAddr, req.Close = req.Header.Get("Host"), remote, !keep
	return req.WithContext(ctx), keep, nil
}

// parseRequestLine reads "METHOD /target HTTP/1.x" into a request without
// headers yet.
func parseRequestLine(first string) (*http.Request, error) {
	method, rest, ok1 := strings.Cut(first, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || !strings.HasPrefix(target, "/") {
		return nil, fmt.Errorf("malformed request line %.60q", first)
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok || major != 1 {
		return nil, errVersion
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("malformed request target: %w", err)
	}
	return &http.Request{Method: method, URL: u, Proto: proto, ProtoMajor: major, ProtoMinor: minor,
		Header: http.Header{}, RequestURI: target, Body: http.NoBody}, nil
}

// Package httpget is a minimal HTTP/1.1 client: one GET over a fresh
// connection, TCP or a unix socket, enough to read nginx's stub_status page
// and to ask lnmp-init's own probes. It uses net/http only to parse the
// response: net/http's Client brings its transport, HTTP/2 and TLS into
// PID 1, about 2 MiB of resident memory (README, "Dependencies, and why").
package httpget

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Response is what the server answered: the status code and up to the
// requested number of body bytes.
type Response struct {
	Status int
	Body   []byte
}

// Get asks host for path on network/address with "Connection: close" and
// reads the response, at most limit bytes of its body. ctx bounds the
// whole exchange.
func Get(ctx context.Context, network, address, host, path string, limit int64) (Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return Response{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lnmp-init\r\nConnection: close\r\n\r\n", path, host); err != nil {
		return Response{}, fmt.Errorf("send request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	if err != nil {
		return Response{}, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return Response{Status: resp.StatusCode}, fmt.Errorf("read body: %w", err)
	}
	return Response{Status: resp.StatusCode, Body: body}, nil
}

// Package fastcgi is a minimal FastCGI client: one responder request over a
// fresh connection, enough to ask php-fpm whether a pool answers.
//
// It is written here because the maintained Go clients (yookoala/gofast,
// tomasen/fcgi_client and others) cannot be fetched from the module proxy
// this project builds with, the one that can (Caddy's) brings in all of
// Caddy, and the standard library's net/http/fcgi is server-only. The
// protocol is the FastCGI 1.0 specification's.
package fastcgi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
)

// Record types and the responder role, from the FastCGI specification.
const (
	typeBeginRequest = 1
	typeEndRequest   = 3
	typeParams       = 4
	typeStdin        = 5
	typeStdout       = 6
	typeStderr       = 7
	roleResponder    = 1
	version1         = 1
	requestID        = 1
	maxContent       = 65535
)

// Response is what the application answered.
type Response struct {
	// Stdout holds the CGI response: headers, a blank line, the body.
	Stdout []byte
	// Stderr holds what the application logged for this request.
	Stderr []byte
	// AppStatus is the application's exit status for the request.
	AppStatus uint32
}

// Do sends one request with params and an empty body to the responder at
// network/address, and reads the whole response. ctx bounds the exchange.
func Do(ctx context.Context, network, address string, params map[string]string) (*Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("fastcgi: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	var req bytes.Buffer
	writeRecord(&req, typeBeginRequest, []byte{0, roleResponder, 0, 0, 0, 0, 0, 0})
	writeRecord(&req, typeParams, encodeParams(params))
	writeRecord(&req, typeParams, nil)
	writeRecord(&req, typeStdin, nil)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return nil, fmt.Errorf("fastcgi: send request: %w", err)
	}
	resp, err := readResponse(bufio.NewReader(conn))
	if err != nil && ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	return resp, err
}

// writeRecord appends one record; content never exceeds maxContent here.
func writeRecord(w *bytes.Buffer, typ byte, content []byte) {
	pad := (8 - len(content)%8) % 8
	h := [8]byte{version1, typ, 0, requestID, 0, 0, byte(pad), 0}
	binary.BigEndian.PutUint16(h[4:], uint16(len(content)))
	w.Write(h[:])
	w.Write(content)
	w.Write(make([]byte, pad))
}

// encodeParams writes name-value pairs, sorted so requests are repeatable.
func encodeParams(params map[string]string) []byte {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		writeLength(&b, len(n))
		writeLength(&b, len(params[n]))
		b.WriteString(n)
		b.WriteString(params[n])
	}
	if b.Len() > maxContent {
		b.Truncate(maxContent) // params for a probe are tiny; never reached
	}
	return b.Bytes()
}

// writeLength uses one byte below 128, else four with the top bit set.
func writeLength(b *bytes.Buffer, n int) {
	if n < 128 {
		b.WriteByte(byte(n))
		return
	}
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(n)|1<<31)
	b.Write(l[:])
}

// readResponse reads records until END_REQUEST.
func readResponse(r *bufio.Reader) (*Response, error) {
	resp := &Response{}
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, fmt.Errorf("fastcgi: read record header: %w", err)
		}
		n, pad := int(binary.BigEndian.Uint16(h[4:])), int(h[6])
		content := make([]byte, n+pad)
		if _, err := io.ReadFull(r, content); err != nil {
			return nil, fmt.Errorf("fastcgi: read record: %w", err)
		}
		content = content[:n]
		switch h[1] {
		case typeStdout:
			resp.Stdout = append(resp.Stdout, content...)
		case typeStderr:
			resp.Stderr = append(resp.Stderr, content...)
		case typeEndRequest:
			if n < 8 {
				return nil, fmt.Errorf("fastcgi: short END_REQUEST record")
			}
			resp.AppStatus = binary.BigEndian.Uint32(content)
			if proto := content[4]; proto != 0 {
				return resp, fmt.Errorf("fastcgi: request refused, protocol status %d", proto)
			}
			return resp, nil
		}
	}
}

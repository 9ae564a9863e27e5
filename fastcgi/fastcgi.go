// Package fastcgi is a minimal FastCGI client: one responder request over a
// fresh connection, enough to ask php-fpm whether a pool answers and to
// read its status page.
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
	"slices"
	"sync"
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

// Buffers reused across requests: a status page is read at every scrape.
var (
	readers  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	requests = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	zeros    [8]byte // padding
)

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

	req := requests.Get().(*bytes.Buffer)
	defer requests.Put(req)
	req.Reset()
	writeRecord(req, typeBeginRequest, []byte{0, roleResponder, 0, 0, 0, 0, 0, 0})
	writeParams(req, params)
	writeRecord(req, typeParams, nil)
	writeRecord(req, typeStdin, nil)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return nil, fmt.Errorf("fastcgi: send request: %w", err)
	}
	r := readers.Get().(*bufio.Reader)
	defer readers.Put(r)
	r.Reset(conn)
	defer r.Reset(nil)
	resp, err := readResponse(r)
	if err != nil && ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	return resp, err
}

// writeRecord appends one record; content never exceeds maxContent here.
func writeRecord(w *bytes.Buffer, typ byte, content []byte) {
	writeHeader(w, typ, len(content))
	w.Write(content)
	w.Write(zeros[:padding(len(content))])
}

func writeHeader(w *bytes.Buffer, typ byte, n int) {
	h := [8]byte{version1, typ, 0, requestID, 0, 0, byte(padding(n)), 0}
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	w.Write(h[:])
}

// padding aligns a record's content to 8 bytes, as the specification
// recommends.
func padding(n int) int { return (8 - n%8) % 8 }

// writeParams appends the name-value pairs as one PARAMS record, sorted so
// requests are repeatable. Params for a probe are tiny; more than a
// record holds is cut off, never reached.
func writeParams(w *bytes.Buffer, params map[string]string) {
	names := make([]string, 0, len(params))
	n := 0
	for name, value := range params {
		names = append(names, name)
		n += lengthSize(len(name)) + lengthSize(len(value)) + len(name) + len(value)
	}
	slices.Sort(names)
	if n > maxContent {
		n = maxContent
	}
	writeHeader(w, typeParams, n)
	start := w.Len()
	for _, name := range names {
		writeLength(w, len(name))
		writeLength(w, len(params[name]))
		w.WriteString(name)
		w.WriteString(params[name])
	}
	w.Truncate(start + n)
	w.Write(zeros[:padding(n)])
}

func lengthSize(n int) int {
	if n < 128 {
		return 1
	}
	return 4
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

// readResponse reads records until END_REQUEST, each record's content
// straight into the response.
func readResponse(r *bufio.Reader) (*Response, error) {
	resp := &Response{}
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, fmt.Errorf("fastcgi: read record header: %w", err)
		}
		n, pad := int(binary.BigEndian.Uint16(h[4:])), int(h[6])
		var err error
		switch h[1] {
		case typeStdout:
			resp.Stdout, err = readContent(r, resp.Stdout, n)
		case typeStderr:
			resp.Stderr, err = readContent(r, resp.Stderr, n)
		case typeEndRequest:
			var body [8]byte
			if n < 8 {
				return nil, fmt.Errorf("fastcgi: short END_REQUEST record")
			}
			if _, err := io.ReadFull(r, body[:]); err != nil {
				return nil, fmt.Errorf("fastcgi: read record: %w", err)
			}
			resp.AppStatus = binary.BigEndian.Uint32(body[:])
			if proto := body[4]; proto != 0 {
				return resp, fmt.Errorf("fastcgi: request refused, protocol status %d", proto)
			}
			return resp, nil
		default:
			_, err = r.Discard(n)
		}
		if err == nil {
			_, err = r.Discard(pad)
		}
		if err != nil {
			return nil, fmt.Errorf("fastcgi: read record: %w", err)
		}
	}
}

// readContent appends n bytes from r to b.
func readContent(r *bufio.Reader, b []byte, n int) ([]byte, error) {
	b = slices.Grow(b, n)
	m, err := io.ReadFull(r, b[len(b):len(b)+n])
	return b[:len(b)+m], err
}

package health

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"time"
)

// response buffers what a handler writes.
type response struct {
	header http.Header
	body   *bytes.Buffer
	code   int
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *response) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// send writes the status line, the headers with Content-Length, and the
// body unless the request was HEAD.
func (w *response) send(c net.Conn, head *bytes.Buffer, req *http.Request, keep bool) error {
	w.WriteHeader(http.StatusOK)
	head.Reset()
	head.WriteString("HTTP/1.1 ")
	head.WriteString(strconv.Itoa(w.code))
	head.WriteByte(' ')
	head.WriteString(http.StatusText(w.code))
	head.WriteString("\r\n")
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if !keep {
		w.header.Set("Connection", "close")
	}
	if err := w.header.Write(head); err != nil {
		return err
	}
	head.WriteString("\r\n")
	if req == nil || req.Method != http.MethodHead {
		head.Write(w.body.Bytes())
	}
	_, err := c.Write(head.Bytes())
	return err
}

package lnmptest

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// outputBuffer collects what the process tree writes, for Init.Output while
// it still runs.
type outputBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tee io.Writer
}

// Write appends p and copies it to the tee. The tee's errors are ignored:
// a broken log sink must not stop the capture the test asserts on.
func (b *outputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf.Write(p)
	tee := b.tee
	b.mu.Unlock()
	if tee != nil {
		tee.Write(p)
	}
	return len(p), nil
}

func (b *outputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitUntil polls cond every 10ms until it is true or timeout passes, and
// then says what was awaited, so tests synchronise on state, never on sleeps.
func WaitUntil(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return &timeoutError{what: what, after: timeout}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// timeoutError unwraps to os.ErrDeadlineExceeded so callers can tell a
// timeout from a failure with errors.Is.
type timeoutError struct {
	what  string
	after time.Duration
}

func (e *timeoutError) Error() string {
	return "timed out after " + e.after.String() + " waiting for " + e.what
}

func (e *timeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

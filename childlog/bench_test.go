package childlog

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// accessLine is a combined-format nginx access log line of typical length.
const accessLine = `10.1.2.3 - - [22/Nov/2026:06:42:01 +0000] "GET /api/orders?page=2&per_page=50 HTTP/1.1" 200 5123 "https://shop.example.com/orders" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"` + "\n"

var benchModes = []struct {
	name string
	opts Options
}{
	{"json", Options{Mode: Tagged, Format: JSON}},
	{"console", Options{Mode: Tagged, Format: Console}},
	{"raw-relay", Options{Mode: Raw}},
}

// BenchmarkFormat is lnmp-init's own work per line, without system calls:
// splitting reads of 64 KiB into lines, formatting and queueing them. An
// op is one line.
func BenchmarkFormat(b *testing.B) {
	chunk := []byte(strings.Repeat(accessLine, readSize/len(accessLine)))
	perChunk := strings.Count(string(chunk), "\n")
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			l := &Logs{opts: m.opts, maxLine: DefaultMaxLine, now: time.Now}
			l.width.Store(9)
			out := newOutput(io.Discard, DefaultBuffer, l.notice, func(int) {})
			rd := &reader{l: l, out: out, rec: record{child: []byte("nginx"), stream: "stdout"}}
			b.SetBytes(int64(len(accessLine)))
			b.ResetTimer()
			for i := 0; i < b.N; i += perChunk {
				rd.chunk(chunk)
			}
			b.StopTimer()
			out.close()
			<-out.done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkPipe is the whole path as a child sees it: one write(2) a line,
// as nginx writes its access log, into the child's pipe, read, formatted
// and written to a pipe that another goroutine drains, as a container
// runtime does. passthrough is the same writes straight to that pipe.
func BenchmarkPipe(b *testing.B) {
	line := []byte(accessLine)
	modes := append([]struct {
		name string
		opts Options
	}{{"passthrough", Options{Mode: Raw}}}, benchModes[:2]...)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			drained := make(chan struct{})
			go func() { io.Copy(io.Discard, r); close(drained) }()
			l := New(w, os.Stderr, m.opts)
			stdout, stderr, err := l.Files("nginx")
			if err != nil {
				b.Fatal(err)
			}
			stderr.Close()
			b.SetBytes(int64(len(line)))
			b.ResetTimer()
			for range b.N {
				if _, err := stdout.Write(line); err != nil {
					b.Fatal(err)
				}
			}
			stdout.Close()
			if !l.Close(time.Minute) {
				b.Fatal("Close did not finish")
			}
			b.StopTimer()
			w.Close()
			<-drained
			if c := l.Counts(); c.Dropped > 0 {
				b.Logf("%d of %d lines dropped", c.Dropped, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func ExampleLogs_Files() {
	logs := New(os.Stdout, os.Stderr, Options{Format: Console, Names: []string{"worker"}})
	stdout, stderr, err := logs.Files("worker")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The child gets its own copies when it starts; lnmp-init closes its own.
	_, _ = stdout.Write([]byte("processing job 1\n"))
	stdout.Close()
	stderr.Close()
	logs.Close(time.Second)
	// Output: worker    | processing job 1
}

package childlog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// closeWait bounds Close in tests: generous, the machine is shared.
const closeWait = 10 * time.Second

// sink is one of lnmp-init's streams as a test sees it: a pipe whose
// reading can be held back.
type sink struct {
	w    *os.File
	r    *os.File
	buf  bytes.Buffer
	done chan struct{}
}

func newSink(t *testing.T) *sink {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return &sink{w: w, r: r, done: make(chan struct{})}
}

// drain starts reading the pipe.
func (s *sink) drain() {
	go func() {
		io.Copy(&s.buf, s.r)
		close(s.done)
	}()
}

// lines closes the write end and returns everything read, as lines.
func (s *sink) lines(t *testing.T) []string {
	t.Helper()
	s.w.Close()
	select {
	case <-s.done:
	case <-time.After(closeWait):
		t.Fatal("output pipe never reached EOF")
	}
	text := s.buf.String()
	if text == "" {
		return nil
	}
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("output does not end with a newline: %q", text)
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

func startLogs(t *testing.T, opts Options) (*Logs, *sink, *sink) {
	t.Helper()
	out, errs := newSink(t), newSink(t)
	out.drain()
	errs.drain()
	return New(out.w, errs.w, opts), out, errs
}

// run starts argv as a child of the test with the files of name, as
// lnmp-init's launcher would, and waits for it.
func run(t *testing.T, l *Logs, name string, argv ...string) {
	t.Helper()
	stdout, stderr, err := l.Files(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestTaggedJSONFromAChild(t *testing.T) {
	now := time.Date(2026, 11, 22, 6, 42, 1, 123e6, time.UTC)
	l, out, errs := startLogs(t, Options{Now: func() time.Time { return now }})
	// error_log = /proc/self/fd/2 and access_log /dev/stdout open the pipe
	// again by path: they must work with lnmp-init's pipes.
	run(t, l, "worker", "sh", "-c", `echo 'first "line"'; echo oops >&2; echo reopened >/proc/self/fd/1; printf 'no newline'`)
	if !l.Close(closeWait) {
		t.Fatal("Close did not finish")
	}
	got := out.lines(t)
	want := []string{`first "line"`, "reopened", "no newline"}
	if len(got) != len(want) {
		t.Fatalf("stdout: got %q, want %d lines", got, len(want))
	}
	for i, line := range got {
		j := decodeJSON(t, []byte(line+"\n"))
		if j.Msg != want[i] || j.Child != "worker" || j.Stream != "stdout" || j.Time != "2026-11-22T06:42:01.123Z" {
			t.Errorf("stdout line %d: %+v, want msg %q", i, j, want[i])
		}
	}
	e := errs.lines(t)
	if len(e) != 1 || decodeJSON(t, []byte(e[0]+"\n")).Stream != "stderr" || !strings.Contains(e[0], `"msg":"oops"`) {
		t.Errorf("stderr: %q", e)
	}
	if c := l.Counts(); c.Lines != 4 || c.Dropped != 0 || c.Truncated != 0 {
		t.Errorf("counts: %+v", c)
	}
}

// TestLinesStayWhole writes lines of every length, in writes that split
// them anywhere, from several children at once, and reads back exactly
// those lines, each whole and in order per child.
func TestLinesStayWhole(t *testing.T) {
	const maxLine = 300
	names := []string{"a", "queue-worker", "c"}
	l, out, _ := startLogs(t, Options{Format: Console, MaxLine: maxLine, Names: names})
	sent := make(map[string][]string)
	var wg sync.WaitGroup
	for k, name := range names {
		stdout, stderr, err := l.Files(name)
		if err != nil {
			t.Fatal(err)
		}
		stderr.Close()
		var text strings.Builder
		for i := range 500 {
			line := fmt.Sprintf("%s %d %s", name, i, strings.Repeat("x", (i*37+k*11)%(2*maxLine)))
			sent[name] = append(sent[name], line)
			text.WriteString(line + "\n")
		}
		wg.Go(func() {
			defer stdout.Close()
			b := []byte(text.String())
			for i := 0; len(b) > 0; i++ {
				n := min(len(b), 1+(i*7919)%613)
				stdout.Write(b[:n])
				b = b[n:]
			}
		})
	}
	wg.Wait()
	if !l.Close(closeWait) {
		t.Fatal("Close did not finish")
	}
	got := make(map[string][]string)
	for _, line := range out.lines(t) {
		name, rest, ok := strings.Cut(line, " | ")
		if !ok || len(name) != len("queue-worker") {
			t.Fatalf("bad prefix: %q", line)
		}
		name = strings.TrimRight(name, " ")
		got[name] = append(got[name], rest)
	}
	for _, name := range names {
		if len(got[name]) != len(sent[name]) {
			t.Fatalf("%s: %d lines, want %d", name, len(got[name]), len(sent[name]))
		}
		for i, want := range sent[name] {
			if len(want) > maxLine {
				want = fmt.Sprintf("%s [lnmp-init: %d bytes cut]", want[:maxLine], len(want)-maxLine)
			}
			if got[name][i] != want {
				t.Fatalf("%s line %d:\n got  %q\n want %q", name, i, got[name][i], want)
			}
		}
	}
}

// TestBlockedOutputNeverBlocksAChild holds lnmp-init's stdout back while a
// child writes far more than the pipes and the buffer hold: the child
// finishes, whole lines are dropped and counted, and once the output moves
// a line says how many.
func TestBlockedOutputNeverBlocksAChild(t *testing.T) {
	out, errs := newSink(t), newSink(t)
	errs.drain()
	l := New(out.w, errs.w, Options{Mode: Tagged, Format: Console, Buffer: 64 << 10})
	stdout, stderr, err := l.Files("nginx")
	if err != nil {
		t.Fatal(err)
	}
	stderr.Close()
	const n = 20000 // 2 MB: more than the output pipe, the child pipe and the buffer together
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		defer stdout.Close()
		w := bufio.NewWriterSize(stdout, 4096)
		for i := range n {
			fmt.Fprintf(w, "line %05d %s\n", i, strings.Repeat("y", 88))
		}
		w.Flush()
	}()
	select {
	case <-wrote:
	case <-time.After(30 * time.Second):
		t.Fatal("the child blocked on a blocked output")
	}
	out.drain()
	if !l.Close(closeWait) {
		t.Fatal("Close did not finish")
	}
	c := l.Counts()
	if c.Lines != n || c.Dropped == 0 {
		t.Fatalf("counts %+v: want %d lines read and some dropped", c, n)
	}
	kept, notices, last := 0, 0, -1
	for _, line := range out.lines(t) {
		var i int
		if _, err := fmt.Sscanf(line, "nginx     | line %05d", &i); err == nil {
			if line != fmt.Sprintf("nginx     | line %05d %s", i, strings.Repeat("y", 88)) || i <= last {
				t.Fatalf("line cut or out of order after %d: %q", last, line)
			}
			kept, last = kept+1, i
			continue
		}
		var dropped int
		if _, err := fmt.Sscanf(line, "lnmp-init | %d lines of child output dropped", &dropped); err != nil {
			t.Fatalf("unexpected line %q", line)
		}
		notices += dropped
	}
	if kept+int(c.Dropped) != n || notices != int(c.Dropped) {
		t.Errorf("%d lines kept + %d dropped != %d, or notices say %d", kept, c.Dropped, n, notices)
	}
}

func TestRawPassesThrough(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := New(f, os.Stderr, Options{Mode: Raw})
	if l.Relayed() {
		t.Fatal("a reopenable file is relayed")
	}
	run(t, l, "nginx", "sh", "-c", "echo straight; echo reopened >>/dev/stdout")
	l.Close(closeWait)
	b, _ := os.ReadFile(f.Name())
	if string(b) != "straight\nreopened\n" || l.Counts().Lines != 0 {
		t.Errorf("got %q, counts %+v", b, l.Counts())
	}
}

// TestRawRelaysWhatCannotBeReopened gives lnmp-init a socket as stdout,
// which /proc/self/fd/1 cannot open, as a root-owned pipe cannot be opened
// by another user: the lines are copied, unchanged.
func TestRawRelaysWhatCannotBeReopened(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w, r := os.NewFile(uintptr(fds[0]), "w"), os.NewFile(uintptr(fds[1]), "r")
	defer r.Close()
	l := New(w, os.Stderr, Options{Mode: Raw})
	if !l.Relayed() {
		t.Fatal("a socket is not relayed")
	}
	run(t, l, "php-fpm", "sh", "-c", `printf 'a "raw" line\n'; echo reopened >/proc/self/fd/1`)
	if !l.Close(closeWait) {
		t.Fatal("Close did not finish")
	}
	w.Close()
	b, _ := io.ReadAll(r)
	if string(b) != "a \"raw\" line\nreopened\n" {
		t.Errorf("got %q", b)
	}
}

func TestRestartGetsNewFiles(t *testing.T) {
	l, out, _ := startLogs(t, Options{Format: Console})
	run(t, l, "w", "sh", "-c", "printf 'first start, cut'")
	run(t, l, "w", "echo", "second start")
	l.Close(closeWait)
	got := out.lines(t)
	slices.Sort(got)
	if len(got) != 2 || !strings.HasSuffix(got[0], "| first start, cut") || !strings.HasSuffix(got[1], "| second start") {
		t.Errorf("got %q: a start's last line must not run into the next start's", got)
	}
}

func TestCloseGivesUpOnAHeldPipe(t *testing.T) {
	l, _, _ := startLogs(t, Options{})
	stdout, stderr, err := l.Files("leftover")
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	defer stderr.Close()
	began := time.Now()
	if l.Close(200 * time.Millisecond) {
		t.Error("Close reported success with a pipe still open")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Close took %v, bound 200ms", d)
	}
	if _, _, err := l.Files("late"); err == nil {
		t.Error("Files after Close succeeded")
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"tagged": Tagged, "raw": Raw} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMode("Tagged"); err == nil {
		t.Error("ParseMode accepted Tagged")
	}
}

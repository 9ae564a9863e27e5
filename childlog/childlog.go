package childlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says whether lines are tagged or passed through.
type Mode int

const (
	// Tagged copies every line, tagged with its child and stream.
	Tagged Mode = iota
	// Raw lets children write to lnmp-init's output directly.
	Raw
)

// ParseMode reads --child-logs: "tagged" or "raw".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "tagged":
		return Tagged, nil
	case "raw":
		return Raw, nil
	}
	return 0, fmt.Errorf("must be tagged or raw, got %q", s)
}

// Format is how a tagged line is written.
type Format int

const (
	// JSON writes one JSON object a line.
	JSON Format = iota
	// Console writes "name | line".
	Console
)

// Defaults of Options.
const (
	DefaultMaxLine = 64 << 10
	DefaultBuffer  = 1 << 20
)

// Options shape a Logs. The zero value is tagged JSON with the defaults.
type Options struct {
	Mode   Mode
	Format Format // of tagged lines
	// MaxLine is the longest line kept whole (default 64 KiB); longer ones
	// are cut.
	MaxLine int
	// Buffer is how many bytes wait for each of lnmp-init's streams while
	// it blocks (default 1 MiB) before lines are dropped.
	Buffer int
	// Names are the children to come, so that console prefixes line up
	// from the first line; a longer name given to Files later widens them.
	Names []string
	// Now is the clock of JSON timestamps; nil means time.Now.
	Now func() time.Time
}

// Counts are totals since New.
type Counts struct {
	// Lines were read from children (in pass-through, only the relayed).
	Lines uint64
	// Dropped lines were read but not written: lnmp-init's output was
	// blocked and the buffer full, or the output was closed.
	Dropped uint64
	// Truncated lines were longer than MaxLine and cut.
	Truncated uint64
}

// Logs hands out the files children write to and carries their lines to
// lnmp-init's stdout and stderr. Its methods are safe for concurrent use.
type Logs struct {
	opts    Options
	maxLine int
	now     func() time.Time
	streams [2]stream // stdout, stderr
	width   atomic.Int64

	mu      sync.Mutex // guards closed and readers.Add against Close
	closed  bool
	readers sync.WaitGroup

	lines, dropped, truncated atomic.Uint64
}

// stream is one of lnmp-init's own streams.
type stream struct {
	name string // "stdout" or "stderr"
	own  *os.File
	out  *output // nil: children write to own directly
}

// New starts carrying children's lines to stdout and stderr, which must be
// the very *os.File values lnmp-init's own log writes to: writes to one
// *os.File never interleave, those to two files for one pipe may.
//
// In Raw mode a stream is passed through when its file can be opened again
// by path; otherwise lnmp-init relays it (see Relayed).
func New(stdout, stderr *os.File, opts Options) *Logs {
	l := &Logs{opts: opts, maxLine: opts.MaxLine, now: opts.Now}
	if l.maxLine <= 0 {
		l.maxLine = DefaultMaxLine
	}
	if l.now == nil {
		l.now = time.Now
	}
	buffer := opts.Buffer
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	l.width.Store(int64(len(noticeName)))
	for _, n := range opts.Names {
		l.widen(n)
	}
	for i, f := range []*os.File{stdout, stderr} {
		s := stream{name: [2]string{"stdout", "stderr"}[i], own: f}
		if opts.Mode == Tagged || !reopenable(f) {
			s.out = newOutput(f, buffer, l.notice, func(n int) { l.dropped.Add(uint64(n)) })
		}
		l.streams[i] = s
	}
	return l
}

// Relayed reports whether lnmp-init copies the children's output, rather
// than letting them write to its own stdout and stderr.
func (l *Logs) Relayed() bool {
	return l.streams[0].out != nil || l.streams[1].out != nil
}

// Files returns a new stdout and stderr for one start of the child called
// name; a restart calls it again. The caller owns both and closes them
// once the child has started: the child holds its own copies, and its
// lines are read until it and everything that inherited them are gone.
func (l *Logs) Files(name string) (stdout, stderr *os.File, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, errors.New("child output: closed")
	}
	l.widen(name)
	var files [2]*os.File
	for i := range l.streams {
		if files[i], err = l.file(name, &l.streams[i]); err != nil {
			if i == 1 {
				files[0].Close()
			}
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return files[0], files[1], nil
}

// widen makes the console prefix fit name.
func (l *Logs) widen(name string) {
	for w := l.width.Load(); int64(len(name)) > w; w = l.width.Load() {
		l.width.CompareAndSwap(w, int64(len(name)))
	}
}

// file returns what the child writes s to: a duplicate of lnmp-init's own
// file, or the write end of a pipe that a new reader drains.
func (l *Logs) file(name string, s *stream) (*os.File, error) {
	if s.out == nil {
		return dup(s.own)
	}
	r, w, err := childPipe()
	if err != nil {
		return nil, err
	}
	rd := &reader{l: l, out: s.out, rec: record{child: []byte(name), stream: s.name}}
	l.readers.Add(1)
	go rd.run(r)
	return w, nil
}

// Close waits up to wait for the children's pipes to end and for every
// line to be written, then stops. It reports whether all was written: a
// process that still holds a pipe, or an output that stays blocked, makes
// it give up at wait, and what is left is lost.
func (l *Logs) Close(wait time.Duration) bool {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	read := make(chan struct{})
	go func() {
		l.readers.Wait()
		close(read)
	}()
	complete := true
	select {
	case <-read:
	case <-ctx.Done():
		complete = false
	}
	for _, s := range l.streams {
		if s.out != nil {
			s.out.close()
		}
	}
	for _, s := range l.streams {
		if s.out == nil {
			continue
		}
		select {
		case <-s.out.done:
		case <-ctx.Done():
			return false
		}
	}
	return complete
}

// Counts returns the totals so far.
func (l *Logs) Counts() Counts {
	return Counts{Lines: l.lines.Load(), Dropped: l.dropped.Load(), Truncated: l.truncated.Load()}
}

// format appends r in the configured format.
func (l *Logs) format(dst []byte, r *record) []byte {
	switch {
	case l.opts.Mode == Raw:
		return appendRaw(dst, r)
	case l.opts.Format == Console:
		return appendConsole(dst, r, int(l.width.Load()))
	}
	return appendJSON(dst, r)
}

// noticeName is who speaks in a notice about dropped lines.
const noticeName = "lnmp-init"

// notice appends the line that says n lines were dropped.
func (l *Logs) notice(dst []byte, n int) []byte {
	msg := "child output dropped: lnmp-init's own output was blocked"
	switch {
	case l.opts.Mode == Raw:
		dst = append(dst, noticeName+": "...)
	case l.opts.Format == Console:
		dst = appendConsole(dst, &record{child: []byte(noticeName)}, int(l.width.Load()))
		dst = dst[:len(dst)-1]
	default:
		dst = append(dst, `{"level":"warn","time":"`...)
		dst = l.now().AppendFormat(dst, timeLayout)
		dst = append(dst, `","logger":"lnmp-init","msg":"`+msg+`","dropped_lines":`...)
		return append(itoa(dst, n), "}\n"...)
	}
	dst = append(itoa(dst, n), " lines of "...)
	return append(dst, msg+"\n"...)
}

package childlog

import (
	"io"
	"strconv"
	"sync"
)

// spareCap bounds the buffer an output keeps between batches once a burst
// is over: a larger one is let go when a batch uses less than half of
// spareCap, so a stall does not pin its memory, while a steady high rate
// keeps reusing it.
const spareCap = 256 << 10

// output is one of lnmp-init's streams: a queue of whole formatted lines,
// bounded in bytes, and the one goroutine that writes them. Readers never
// wait for the write: what does not fit is dropped, line by line.
type output struct {
	w     io.Writer
	limit int
	// notice formats the line that reports n dropped lines.
	notice func(dst []byte, n int) []byte
	drops  func(n int) // counts dropped lines

	mu      sync.Mutex
	queue   []byte // whole lines, waiting
	pending int    // lines dropped and not yet reported
	closed  bool
	wake    chan struct{} // a send means: the queue or closed changed
	done    chan struct{} // closed when the writer has returned
}

func newOutput(w io.Writer, limit int, notice func([]byte, int) []byte, drops func(int)) *output {
	o := &output{w: w, limit: limit, notice: notice, drops: drops,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go o.run()
	return o
}

// put queues the lines in batch, whose ends are at the offsets in ends,
// and drops every line that does not fit. It never blocks on the write.
func (o *output) put(batch []byte, ends []int) {
	o.mu.Lock()
	dropped := 0
	if o.closed {
		dropped = len(ends)
		ends = nil
	}
	if o.pending == 0 && len(o.queue)+len(batch) <= o.limit {
		// The usual case: everything fits, in one copy.
		o.queue = append(o.queue, batch...)
		ends = nil
	}
	start := 0
	for _, end := range ends {
		line := batch[start:end]
		start = end
		if o.pending > 0 {
			o.reportDrops()
		}
		if len(o.queue)+len(line) > o.limit {
			dropped++
			o.pending++
			continue
		}
		o.queue = append(o.queue, line...)
	}
	o.mu.Unlock()
	if dropped > 0 {
		o.drops(dropped)
	}
	o.signal()
}

// reportDrops queues the line that says how many lines were lost, when it
// fits. Called with mu held.
func (o *output) reportDrops() {
	var tmp [256]byte
	line := o.notice(tmp[:0], o.pending)
	if len(o.queue)+len(line) <= o.limit {
		o.queue = append(o.queue, line...)
		o.pending = 0
	}
}

func (o *output) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run writes what is queued, a batch at a time, until closed and empty.
// After a write error the output is gone for good (a closed pipe): the
// lines are discarded, so that readers keep draining the children.
func (o *output) run() {
	defer close(o.done)
	var spare []byte
	failed := false
	for {
		o.mu.Lock()
		if o.pending > 0 {
			o.reportDrops()
		}
		batch := o.queue
		closed := o.closed
		o.queue = spare[:0]
		o.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			<-o.wake
			spare = batch
			continue
		}
		if !failed {
			if _, err := o.w.Write(batch); err != nil {
				failed = true
			}
		}
		if cap(batch) > spareCap && len(batch) < spareCap/2 {
			batch = nil // the burst is over
		}
		spare = batch
	}
}

// close ends the writer once the queue is written; lines put after it are
// dropped. done says when the writer is finished.
func (o *output) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}

// itoa is strconv.AppendInt for the notices.
func itoa(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

package childlog

import (
	"bytes"
	"os"
	"time"
	"unicode/utf8"
)

// readSize is how much one read takes from a child's pipe.
const readSize = 64 << 10

// linger is how long a reader waits after a read that found the pipe
// nearly empty, so that the next read takes many lines instead of one.
// Waking a goroutine is what a line costs, far more than formatting it
// (measured on a 2-core VM: about 50 µs a wakeup, 1 µs a line), so at a
// busy access log this is one read and one write every 5 ms rather than
// one of each a line. The pipe (256 KiB) holds far more than a child
// writes meanwhile, so the child does not wait; a read that finds the
// pipe half full reads again at once. A line reaches lnmp-init's output
// at most about linger later.
const linger = 5 * time.Millisecond

// reader turns one child stream into whole lines for an output. It is
// owned by one goroutine.
type reader struct {
	l   *Logs
	out *output
	rec record
	// partial is the start of a line whose newline has not come yet, at
	// most maxLine bytes; cut counts its bytes beyond that.
	partial []byte
	cut     int
	// batch holds the lines of one read, formatted; ends are their ends.
	batch            []byte
	ends             []int
	lines, truncated uint64
}

// run reads f until EOF, which comes once the child and everything that
// inherited its stdout or stderr are gone, then closes it.
func (rd *reader) run(f *os.File) {
	defer rd.l.readers.Done()
	defer f.Close()
	buf := make([]byte, readSize)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			rd.chunk(buf[:n])
		}
		if err != nil {
			break
		}
		if n < readSize/2 {
			time.Sleep(linger)
		}
	}
	rd.finish()
}

// finish writes the last line, which had no newline: it is still a line.
func (rd *reader) finish() {
	if len(rd.partial) > 0 || rd.cut > 0 {
		rd.stamp()
		rd.emit(rd.partial)
		rd.flush()
	}
}

// chunk splits what one read returned into lines. The lines of one read
// share a timestamp: they arrived together.
func (rd *reader) chunk(data []byte) {
	rd.stamp()
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			rd.keep(data)
			break
		}
		if len(rd.partial) == 0 && rd.cut == 0 {
			rd.emit(data[:i])
		} else {
			rd.keep(data[:i])
			rd.emit(rd.partial)
		}
		data = data[i+1:]
	}
	rd.flush()
}

// keep adds part to the pending line, up to maxLine.
func (rd *reader) keep(part []byte) {
	room := rd.l.maxLine - len(rd.partial)
	if len(part) > room {
		rd.cut += len(part) - room
		part = part[:room]
	}
	rd.partial = append(rd.partial, part...)
}

// emit formats one whole line into the batch, cutting it at maxLine, and
// clears the pending line.
func (rd *reader) emit(line []byte) {
	cut := rd.cut
	if len(line) > rd.l.maxLine {
		cut += len(line) - rd.l.maxLine
		line = line[:rd.l.maxLine]
	}
	if cut > 0 {
		// Cut at the start of a character, not inside one.
		line, cut = trimPartialRune(line, cut)
		rd.truncated++
	}
	rd.rec.line, rd.rec.cut = line, cut
	rd.batch = rd.l.format(rd.batch, &rd.rec)
	rd.ends = append(rd.ends, len(rd.batch))
	rd.lines++
	rd.partial, rd.cut = rd.partial[:0], 0
}

// trimPartialRune drops an incomplete UTF-8 sequence left at the end of a
// cut line, adding its bytes to cut.
func trimPartialRune(line []byte, cut int) ([]byte, int) {
	for i := 1; i < utf8.UTFMax && i <= len(line); i++ {
		b := line[len(line)-i]
		if !utf8.RuneStart(b) {
			continue
		}
		if b >= utf8.RuneSelf && !utf8.FullRune(line[len(line)-i:]) {
			return line[:len(line)-i], cut + i
		}
		break
	}
	return line, cut
}

// stamp sets the time of the lines about to be formatted.
func (rd *reader) stamp() {
	if rd.l.opts.Format == JSON && rd.l.opts.Mode == Tagged {
		rd.rec.time = rd.l.now().AppendFormat(rd.rec.time[:0], timeLayout)
	}
}

// flush hands the batch to the output and adds to the counts.
func (rd *reader) flush() {
	if len(rd.ends) > 0 {
		rd.out.put(rd.batch, rd.ends)
	}
	rd.batch, rd.ends = rd.batch[:0], rd.ends[:0]
	rd.l.lines.Add(rd.lines)
	rd.l.truncated.Add(rd.truncated)
	rd.lines, rd.truncated = 0, 0
}

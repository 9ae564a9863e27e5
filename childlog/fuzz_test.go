package childlog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// feed runs data through one reader in reads of the sizes sizes cycles
// through, as a pipe would deliver it, and returns what came out.
func feed(l *Logs, data, sizes []byte) []byte {
	var buf bytes.Buffer
	out := newOutput(&buf, 1<<30, l.notice, func(int) {})
	rd := &reader{l: l, out: out, rec: record{child: []byte("w"), stream: "stdout"}}
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(sizes) > 0 {
			n = min(n, 1+int(sizes[i%len(sizes)]))
		}
		rd.chunk(data[:n])
		data = data[n:]
	}
	rd.finish()
	out.close()
	<-out.done
	return buf.Bytes()
}

// FuzzLines checks that whatever a child writes, however the reads split
// it, every line comes out once, as one valid JSON line holding the line
// or, past maxLine, its longest prefix that does not split a character.
func FuzzLines(f *testing.F) {
	f.Add([]byte("one\ntwo\n"), []byte{0})
	f.Add([]byte("a line longer than sixteen bytes\nshort\npartial"), []byte{3, 20, 1})
	f.Add([]byte("\xff\xfe invalid\n\n\r\n✓✓✓✓✓✓✓✓✓✓\n"), []byte{5})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		const maxLine = 16
		l := &Logs{maxLine: maxLine, now: func() time.Time { return time.Unix(0, 0) }}
		got := feed(l, data, sizes)
		var want []string
		if len(data) > 0 {
			want = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		}
		lines := bytes.SplitAfter(got, []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines out, want %d:\n%q", len(lines), len(want), got)
		}
		for i, line := range lines {
			j := decodeJSON(t, line)
			msg := j.Msg
			if j.MsgBase64 != nil {
				msg = string(j.MsgBase64)
			}
			in := want[i]
			if !strings.HasPrefix(in, msg) || len(in)-len(msg) != j.Truncated {
				t.Fatalf("line %d: %q (cut %d) is not the start of %q with the rest counted", i, msg, j.Truncated, in)
			}
			if j.Truncated > 0 && (len(msg) > maxLine || len(msg) < maxLine-3) {
				t.Fatalf("line %d: cut to %d bytes, want %d less at most 3 for a split character", i, len(msg), maxLine)
			}
			if j.Truncated == 0 && len(msg) > maxLine {
				t.Fatalf("line %d: %d bytes kept, over %d", i, len(msg), maxLine)
			}
		}
	})
}

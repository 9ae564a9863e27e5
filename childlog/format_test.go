package childlog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonLine is a tagged line as a log collector decodes it.
type jsonLine struct {
	Time      string `json:"time"`
	Child     string `json:"child"`
	Stream    string `json:"stream"`
	Msg       string `json:"msg"`
	Truncated int    `json:"truncated"`
	MsgBase64 []byte `json:"msg_base64"`
}

func decodeJSON(t *testing.T, b []byte) jsonLine {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("not one JSON line: %q", b)
	}
	if !utf8.Valid(b) {
		t.Fatalf("not valid UTF-8: %q", b)
	}
	var j jsonLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return j
}

func TestJSONKeepsTheLine(t *testing.T) {
	for _, line := range []string{
		"",
		`127.0.0.1 - - [22/Nov/2026:06:42:01 +0000] "GET /?a=1&b=<x> HTTP/1.1" 200 3 "-" "curl/8.0"`,
		"tab\there, cr\r, bell\a, nul\x00, esc \x1b[31mred\x1b[0m, del \x7f",
		`back\slash and "quotes"`,
		"ünïcödé ✓ 🐘 \u2028 \ufffd",
	} {
		out := appendJSON(nil, &record{child: []byte("nginx"), stream: "stdout", time: []byte("T"), line: []byte(line)})
		j := decodeJSON(t, out)
		if j.Msg != line || j.MsgBase64 != nil || j.Child != "nginx" || j.Stream != "stdout" || j.Time != "T" {
			t.Errorf("line %q came out as %+v", line, j)
		}
	}
}

func TestJSONInvalidUTF8(t *testing.T) {
	for _, line := range []string{"\xff", "a\xc3", "latin-1 caf\xe9!", "\xed\xa0\x80 surrogate", "ok ✓ then \xe2\x9c"} {
		out := appendJSON(nil, &record{child: []byte("php-fpm"), stream: "stderr", line: []byte(line)})
		j := decodeJSON(t, out)
		if string(j.MsgBase64) != line {
			t.Errorf("%q: msg_base64 %q does not give the line back", line, j.MsgBase64)
		}
		if want := replaceInvalid(line); j.Msg != want {
			t.Errorf("%q: msg %q, want %q: U+FFFD for each invalid byte", line, j.Msg, want)
		}
		if got := base64.StdEncoding.EncodeToString([]byte(line)); !strings.Contains(string(out), got) {
			t.Errorf("%q: %s lacks %s", line, out, got)
		}
	}
}

func TestJSONTruncated(t *testing.T) {
	j := decodeJSON(t, appendJSON(nil, &record{child: []byte("w"), stream: "stdout", line: []byte("abc"), cut: 12}))
	if j.Truncated != 12 || j.Msg != "abc" {
		t.Errorf("got %+v", j)
	}
}

func TestConsole(t *testing.T) {
	got := string(appendConsole(nil, &record{child: []byte("nginx"), line: []byte("a \x1b[1mline")}, 9))
	if want := "nginx     | a \x1b[1mline\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = string(appendConsole(nil, &record{child: []byte("worker"), line: []byte("x"), cut: 5}, 3))
	if want := "worker | x [lnmp-init: 5 bytes cut]\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// replaceInvalid puts U+FFFD in place of each byte of s that is not part of
// valid UTF-8.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// FuzzAppendString checks every string against encoding/json's reading of
// what appendString writes: valid JSON, the same text, U+FFFD for each
// invalid byte, and the validity reported right.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii, 16+ bytes long", "a\"b\\c\x00\x1f\x7f", "ünï\xff\xfe✓ tail of eight", "\x1f\x20\x21\x22\x5b\x5c\x5d~~"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		out, valid := appendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if want := replaceInvalid(string(s)); got != want {
			t.Fatalf("%q: decodes to %q, want %q", s, got, want)
		}
		if valid != utf8.Valid(s) {
			t.Fatalf("%q: valid %v", s, valid)
		}
	})
}

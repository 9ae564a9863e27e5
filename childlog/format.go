package childlog

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// timeLayout is zap's ISO8601TimeEncoder layout, which lnmp-init's own log
// uses.
const timeLayout = "2006-01-02T15:04:05.000Z0700"

// record is one line on its way out, and what to say about it.
type record struct {
	child  []byte
	stream string // "stdout" or "stderr"
	time   []byte // formatted with timeLayout
	line   []byte // without its newline
	cut    int    // bytes cut off the end (MaxLine)
}

// appendJSON appends r as one JSON object and a newline.
func appendJSON(dst []byte, r *record) []byte {
	dst = append(dst, `{"time":"`...)
	dst = append(dst, r.time...)
	dst = append(dst, `","child":`...)
	dst, _ = appendString(dst, r.child)
	dst = append(dst, `,"stream":"`...)
	dst = append(dst, r.stream...)
	dst = append(dst, `","msg":`...)
	var valid bool
	dst, valid = appendString(dst, r.line)
	if r.cut > 0 {
		dst = append(dst, `,"truncated":`...)
		dst = strconv.AppendInt(dst, int64(r.cut), 10)
	}
	if !valid {
		dst = append(dst, `,"msg_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.line)
		dst = append(dst, '"')
	}
	return append(dst, "}\n"...)
}

// appendConsole appends r as "name | line": the name padded to width.
func appendConsole(dst []byte, r *record, width int) []byte {
	dst = append(dst, r.child...)
	for i := len(r.child); i < width; i++ {
		dst = append(dst, ' ')
	}
	dst = append(dst, " | "...)
	return appendRaw(dst, r)
}

// appendRaw appends the line as it came, with the cut noted.
func appendRaw(dst []byte, r *record) []byte {
	dst = append(dst, r.line...)
	if r.cut > 0 {
		dst = append(dst, " [lnmp-init: "...)
		dst = strconv.AppendInt(dst, int64(r.cut), 10)
		dst = append(dst, " bytes cut]"...)
	}
	return append(dst, '\n')
}

// safe marks the bytes that stand for themselves inside a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hex = "0123456789abcdef"

// SWAR constants: a byte's worth of 0x01 and of 0x80 in every lane.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// plain8 reports whether all 8 bytes of x stand for themselves in a JSON
// string: ASCII, not a control character, not '"' or '\\'. Eight at a
// time, as a busy access log is almost all such bytes.
func plain8(x uint64) bool {
	// (v - n*lanes01) &^ v & lanes80 is not zero when a byte of v is below
	// n (n <= 0x80): below 0x20 for controls, below 1 for a zero byte of
	// x^c, which is a byte equal to c.
	high := x & lanes80
	control := (x - 0x20*lanes01) &^ x & lanes80
	q, bs := x^('"'*lanes01), x^('\\'*lanes01)
	quote := (q - lanes01) &^ q & lanes80
	backslash := (bs - lanes01) &^ bs & lanes80
	return high|control|quote|backslash == 0
}

// appendString appends s as a quoted JSON string, and reports whether s
// was valid UTF-8. Invalid bytes become U+FFFD.
func appendString(dst []byte, s []byte) ([]byte, bool) {
	valid := true
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			valid = false
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), valid
}

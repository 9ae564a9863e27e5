// Package promtext writes the Prometheus text exposition format, version
// 0.0.4: HELP and TYPE lines, then one line per sample. It holds counters
// and gauges only, which is all lnmp-init exposes, and appends to a buffer
// the caller reuses, so a scrape allocates nothing once the buffer has
// grown to its size.
//
// The order of families and samples is the caller's: it writes them in a
// fixed order (and sorts label values it keeps in maps), so two scrapes of
// the same state are byte for byte the same.
package promtext

import (
	"math"
	"strconv"
)

// ContentType is what a /metrics handler answers with.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family's type.
type Type string

// The two types lnmp-init uses.
const (
	Counter Type = "counter"
	Gauge   Type = "gauge"
)

// Writer appends families and samples to a buffer. The zero value is ready
// to use. It does not check names: those are the program's own constants,
// and its tests check them.
type Writer struct {
	buf    []byte
	family string // the name of the family being written
}

// Reset empties the buffer, keeping its memory.
func (w *Writer) Reset() {
	w.buf = w.buf[:0]
	w.family = ""
}

// Bytes returns what has been written; it is valid until the next write or
// Reset.
func (w *Writer) Bytes() []byte { return w.buf }

// Len is the number of bytes written.
func (w *Writer) Len() int { return len(w.buf) }

// Write appends p as is, for joining what several Writers hold.
func (w *Writer) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Family starts a family: its HELP and TYPE lines. The samples that follow
// belong to it until the next Family.
func (w *Writer) Family(name, help string, t Type) {
	w.family = name
	w.buf = append(w.buf, "# HELP "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = appendHelp(w.buf, help)
	w.buf = append(w.buf, "\n# TYPE "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, t...)
	w.buf = append(w.buf, '\n')
}

// Sample writes one sample of the current family. labels are name, value
// pairs, in the order they are to appear; an odd count panics, as it is a
// bug in the caller.
func (w *Writer) Sample(value float64, labels ...string) {
	if len(labels)%2 != 0 {
		panic("promtext: odd number of label strings for " + w.family)
	}
	w.buf = append(w.buf, w.family...)
	if len(labels) > 0 {
		w.buf = append(w.buf, '{')
		for i := 0; i < len(labels); i += 2 {
			w.buf = appendLabel(w.buf, i > 0, labels[i], labels[i+1])
		}
		w.buf = append(w.buf, '}')
	}
	w.endSample(value)
}

// SampleVec writes one sample of the current family whose label names and
// values are in two slices of the same length, as a labelled vector keeps
// them.
func (w *Writer) SampleVec(value float64, names, values []string) {
	if len(names) != len(values) {
		panic("promtext: label names and values differ in number for " + w.family)
	}
	w.buf = append(w.buf, w.family...)
	if len(names) > 0 {
		w.buf = append(w.buf, '{')
		for i := range names {
			w.buf = appendLabel(w.buf, i > 0, names[i], values[i])
		}
		w.buf = append(w.buf, '}')
	}
	w.endSample(value)
}

// Single writes a family of one sample.
func (w *Writer) Single(name, help string, t Type, value float64, labels ...string) {
	w.Family(name, help, t)
	w.Sample(value, labels...)
}

func (w *Writer) endSample(value float64) {
	w.buf = append(w.buf, ' ')
	w.buf = AppendFloat(w.buf, value)
	w.buf = append(w.buf, '\n')
}

func appendLabel(b []byte, comma bool, name, value string) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, name...)
	b = append(b, `="`...)
	b = appendLabelValue(b, value)
	return append(b, '"')
}

// appendLabelValue escapes as the format asks: backslash, double quote and
// line feed.
func appendLabelValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendHelp escapes a HELP text: backslash and line feed only.
func appendHelp(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// AppendFloat writes a sample value as Prometheus's own clients do: the
// shortest form that reads back exactly, and +Inf, -Inf and NaN spelled as
// the format spells them.
func AppendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

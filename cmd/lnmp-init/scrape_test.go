package main

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// family is one metric family of a scrape, as a client reads it.
type family struct {
	typ, help string
	samples   []sample
}

type sample struct {
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseScrape reads the text format strictly enough to fail on what
// Prometheus would refuse: a sample outside its family, a family declared
// twice, a value that is not a number.
func parseScrape(t *testing.T, text string) map[string]*family {
	t.Helper()
	fams := map[string]*family{}
	var cur string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, help, _ := strings.Cut(rest, " ")
			if fams[name] != nil {
				t.Errorf("family %s declared twice", name)
			}
			fams[name], cur = &family{help: help}, name
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if name != cur {
				t.Errorf("TYPE of %s after HELP of %s", name, cur)
				continue
			}
			fams[name].typ = typ
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || m[1] != cur {
			t.Errorf("line %q is not a sample of %s", line, cur)
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Errorf("line %q: value: %v", line, err)
		}
		labels := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			labels[p[1]] = p[2]
		}
		fams[cur].samples = append(fams[cur].samples, sample{labels: labels, value: v})
	}
	return fams
}

// value returns the sample of name whose labels include want (name=value
// pairs), and whether there is one.
func value(fams map[string]*family, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, s := range f.samples {
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			if s.labels[want[i]] != want[i+1] {
				match = false
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// labelNames lists a sample's label names, sorted.
func labelNames(s sample) []string {
	var names []string
	for n := range s.labels {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// scrapeMetrics GETs /metrics and parses it, failing the test on an answer
// that is not 200.
func scrapeMetrics(t *testing.T, base string) map[string]*family {
	t.Helper()
	r := lnmptest.Fetch(base+"/metrics", 10*time.Second)
	if r.Err != nil || r.Status != 200 {
		t.Fatalf("GET /metrics: %d %v", r.Status, r.Err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	return parseScrape(t, r.Body)
}

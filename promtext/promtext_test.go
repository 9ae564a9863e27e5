package promtext

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestFamilyAndSamples(t *testing.T) {
	var w Writer
	w.Family("lnmp_child_up", "1 while the child runs.", Gauge)
	w.Sample(1, "child", "php-fpm")
	w.Sample(0, "child", "nginx")
	w.Single("lnmp_zombies_reaped_total", "Orphans reaped.", Counter, 3)
	w.Family("phpfpm_up", "Could PHP-FPM be reached?", Gauge)
	w.SampleVec(1, []string{"pool", "scrape_uri"}, []string{"www", "tcp://127.0.0.1:9001/fpm-status"})
	want := `# HELP lnmp_child_up 1 while the child runs.
# TYPE lnmp_child_up gauge
lnmp_child_up{child="php-fpm"} 1
lnmp_child_up{child="nginx"} 0
# HELP lnmp_zombies_reaped_total Orphans reaped.
# TYPE lnmp_zombies_reaped_total counter
lnmp_zombies_reaped_total 3
# HELP phpfpm_up Could PHP-FPM be reached?
# TYPE phpfpm_up gauge
phpfpm_up{pool="www",scrape_uri="tcp://127.0.0.1:9001/fpm-status"} 1
`
	if got := string(w.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	w.Reset()
	if w.Len() != 0 {
		t.Errorf("Reset left %d bytes", w.Len())
	}
}

// TestEscaping: label values escape backslash, quote and line feed; HELP
// escapes backslash and line feed but keeps quotes, as the format says.
func TestEscaping(t *testing.T) {
	var w Writer
	w.Family("x", "say \"hi\" \\ then\nmore", Gauge)
	w.Sample(1, "how", "exit \"2\"\\\nnext", "plain", "é ok")
	want := "# HELP x say \"hi\" \\\\ then\\nmore\n# TYPE x gauge\n" +
		`x{how="exit \"2\"\\\nnext",plain="é ok"} 1` + "\n"
	if got := string(w.Bytes()); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestFloats(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-1, "-1"}, {0.5, "0.5"}, {1.7e9, "1.7e+09"}, {1234567, "1.234567e+06"},
		{12345, "12345"}, {0.000123, "0.000123"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	} {
		if got := string(AppendFloat(nil, tc.v)); got != tc.want {
			t.Errorf("AppendFloat(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// line is the grammar of one line of the format, for the names and label
// values lnmp-init writes.
var line = regexp.MustCompile(`^(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)|` +
	`[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? \S+)$`)

func TestEveryLineParses(t *testing.T) {
	var w Writer
	w.Family("a_total", "help with \\ and \n", Counter)
	for _, v := range []string{"", "\"", "\\", "\n", "a\"b\\c\nd", "}{,="} {
		w.Sample(2, "l", v, "m", v)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(w.Bytes()), "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("line does not parse: %q", l)
		}
	}
}

func TestOddLabelsPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an odd label list")
		}
	}()
	var w Writer
	w.Family("x", "x", Gauge)
	w.Sample(1, "pool")
}

// TestNoAllocation: once the buffer has grown, a scrape's worth of writes
// allocates nothing.
func TestNoAllocation(t *testing.T) {
	var w Writer
	names, values := []string{"pool", "scrape_uri"}, []string{"www", "tcp://127.0.0.1:9001/fpm-status"}
	write := func() {
		w.Reset()
		for range 20 {
			w.Family("phpfpm_active_processes", "The number of active processes.", Gauge)
			w.Sample(3, "pool", "www", "scrape_uri", "tcp://127.0.0.1:9001/fpm-status")
			w.SampleVec(1234567.5, names, values)
		}
	}
	write()
	if n := testing.AllocsPerRun(100, write); n != 0 {
		t.Errorf("%v allocations per scrape", n)
	}
}

func BenchmarkScrapeSized(b *testing.B) {
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		for range 40 {
			w.Family("phpfpm_active_processes", "The number of active processes.", Gauge)
			w.Sample(3, "pool", "www", "scrape_uri", "tcp://127.0.0.1:9001/fpm-status")
		}
	}
}

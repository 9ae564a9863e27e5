package nginx

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// timeUnit is one unit of nginx's time syntax. Units must appear from largest
// to smallest; a unit may follow only units whose rank is at most maxBefore.
type timeUnit struct {
	suffix    string
	scale     time.Duration
	rank      int
	maxBefore int
}

// parseTime reads a time in nginx's syntax for millisecond directives such as
// worker_shutdown_timeout: "10s", "1m30s", "500ms", "1h 30m", with units w, d,
// h, m, s, ms from largest to smallest, a plain trailing number counting as
// seconds. Months and years are not accepted there (nginx rejects them too).
// Like nginx, a number followed by a space counts as seconds and the parts
// add up.
func parseTime(value string) (time.Duration, error) {
	units := []timeUnit{
		{"w", 7 * 24 * time.Hour, 1, 0},
		{"d", 24 * time.Hour, 2, 1},
		{"h", time.Hour, 3, 2},
		{"ms", time.Millisecond, 6, 5}, // Before "m" so "ms" is not read as minutes.
		{"m", time.Minute, 4, 3},
		{"s", time.Second, 5, 4},
		{" ", time.Second, 7, 4},
	}
	var total, n time.Duration
	rank, digits := 0, false
	for i := 0; i < len(value); {
		if c := value[i]; c >= '0' && c <= '9' {
			if n > (math.MaxInt64-9)/10 {
				return 0, fmt.Errorf("time %q is too large", value)
			}
			n, digits = n*10+time.Duration(c-'0'), true
			i++
			continue
		}
		u, ok := findUnit(units, value[i:])
		if !ok || rank > u.maxBefore {
			return 0, fmt.Errorf("invalid time %q: want units w, d, h, m, s, ms from largest to smallest, like 1m30s", value)
		}
		total, n, rank = addScaled(total, n, u.scale), 0, u.rank
		i += len(u.suffix)
		for i < len(value) && value[i] == ' ' {
			i++
		}
	}
	if !digits {
		return 0, fmt.Errorf("invalid time %q: no number", value)
	}
	return addScaled(total, n, time.Second), nil
}

// findUnit returns the unit that s starts with.
func findUnit(units []timeUnit, s string) (timeUnit, bool) {
	for _, u := range units {
		if strings.HasPrefix(s, u.suffix) {
			return u, true
		}
	}
	return timeUnit{}, false
}

// addScaled returns total plus n units, saturating at the largest
// time.Duration (about 292 years): nginx accepts such times, and a bound that
// long is no bound either way.
func addScaled(total, n, unit time.Duration) time.Duration {
	if n > math.MaxInt64/unit || total > math.MaxInt64-n*unit {
		return math.MaxInt64
	}
	return total + n*unit
}

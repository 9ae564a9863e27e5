package reload

import "time"

// clock is the time a Watcher or a Reloader runs on. The real one is the
// default; tests give their own, so that a debounce ends when the test says
// and not when a loaded machine gets round to it.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

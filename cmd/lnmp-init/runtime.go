package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// PID 1's runtime settings, chosen by measurement (README, "Dependencies,
// and why"): lnmp-init's live heap is under 1 MiB and its work is waiting,
// so a heap goal of a quarter over the live heap (Go's default is double,
// and at least 4 MiB) and one P (one set of per-P span and stack caches)
// keep it small at the cost of a garbage collection every few dozen
// scrapes, well under a millisecond each. GOGC and GOMAXPROCS in the
// environment win, as they do for any Go program.
const (
	gcPercent  = 25
	maxProcs   = 1
	envGOGC    = "GOGC"
	envMaxProc = "GOMAXPROCS"
)

// tuneRuntime applies PID 1's runtime settings where the environment sets
// none.
func tuneRuntime() {
	if _, set := os.LookupEnv(envGOGC); !set {
		debug.SetGCPercent(gcPercent)
	}
	if _, set := os.LookupEnv(envMaxProc); !set {
		runtime.GOMAXPROCS(maxProcs)
	}
}

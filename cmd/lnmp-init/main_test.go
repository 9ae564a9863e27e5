package main

import (
	"os"
	"testing"
)

// testMainEnv makes the test binary behave as lnmp-init itself, so the
// integration tests run the real main (with the race detector) as PID 1
// without a separate build.
const testMainEnv = "LNMPINIT_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

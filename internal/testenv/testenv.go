// Package testenv holds the rule every test that needs a real program
// follows: where the program is missing it skips, saying why, except in CI,
// where everything is installed and a skip would hide that the real thing
// was never tested. It imports nothing of lnmp-init, so the tests of any
// package can use it.
package testenv

import (
	"os"
	"testing"
)

// RequireEnv is the variable .ci/run sets to 1: there a missing requirement
// fails a test instead of skipping it.
const RequireEnv = "LNMP_REQUIRE_INTEGRATION"

// SkipOrFail skips t saying why, or, under LNMP_REQUIRE_INTEGRATION=1,
// fails it.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf(RequireEnv+"=1, but: "+format, args...)
	}
	t.Skipf(format, args...)
}

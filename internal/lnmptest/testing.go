package lnmptest

import (
	"fmt"
	"os"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// This file is the only one that imports testing: thin wrappers that fail
// the test and register cleanups, so tests stay short and never leak a
// namespace when they fail half-way.

// SkipUnlessRequirements skips t with the reason Requirements gives. Under
// LNMP_REQUIRE_INTEGRATION=1 (set by .ci/run, which installs everything) a
// missing requirement fails the test instead: there, a skip would hide that
// the real processes were never tested.
func SkipUnlessRequirements(t testing.TB) {
	t.Helper()
	if err := Requirements(); err != nil {
		testenv.SkipOrFail(t, "%v", err)
	}
}

// NewTestSandbox writes a Sandbox into a fresh directory under the system
// temp dir (t.TempDir's parent is mode 0700, which uid 33 cannot cross) and
// removes it when the test ends.
func NewTestSandbox(t testing.TB, opts Options) *Sandbox {
	t.Helper()
	dir, err := os.MkdirTemp("", "lnmptest-")
	if err != nil {
		t.Fatalf("sandbox dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s, err := NewSandbox(dir, opts)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	return s
}

// StartTestInit is StartInit that kills the namespace when the test ends
// and logs the captured output if the test failed.
func StartTestInit(t testing.TB, bin string, args []string, opt RunOptions) *Init {
	t.Helper()
	in, err := StartInit(bin, args, opt)
	if err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		if err := in.Kill(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", bin, in.Pid(), in.Output())
		}
	})
	return in
}

// FreeAddr returns a loopback address nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0])
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// appliedWithin bounds how long a change may take to be served; a reload
// is served in about 0.3 s (make bench).
const appliedWithin = 5 * time.Second

// TestFaultChangeRightAfterStartIsApplied (issue 8, point 8): a change made
// the moment php-fpm is ready (it has read its config; the watches are not
// set up yet, that takes a php-fpm -i) is applied, five times out of five.
//
// Fails on f13e591 for php.ini: the snapshot that catches changes made
// before the watches exist leaves the ini files out, so the change is never
// applied ("N of 5 changes made at start were lost"). The pool case passes
// on f13e591 (its files are in that snapshot); it guards the fix.
func TestFaultChangeRightAfterStartIsApplied(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	for _, tc := range []struct {
		name   string
		page   string
		change func(sb *lnmptest.Sandbox) error
	}{
		{"php.ini", "/ini.php", func(sb *lnmptest.Sandbox) error { return sb.SetIni("zz-test.ini", "memory_limit = 102M\n") }},
		{"pool", "/env.php", func(sb *lnmptest.Sandbox) error { return sb.SetFpmEnvVersion(2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := map[string]string{"/ini.php": "102M", "/env.php": "2"}[tc.page]
			lost, early := 0, 0
			for try := range 5 {
				applied, inWindow := changeAtStart(t, tc.page, want, tc.change)
				if inWindow {
					early++
				}
				if !applied {
					lost++
					t.Logf("try %d: lost (made before the watches: %v)", try+1, inWindow)
				}
			}
			t.Logf("%d of 5 changes landed before the watches were up", early)
			if lost > 0 {
				t.Errorf("%d of 5 changes made at start were lost", lost)
			}
		})
	}
}

// changeAtStart starts lnmp-init, makes the change as soon as php-fpm is
// ready, and says whether it was served within appliedWithin, and whether
// it was made before the watcher said it watched php-fpm's files.
func changeAtStart(t *testing.T, page, want string, change func(*lnmptest.Sandbox) error) (applied, early bool) {
	t.Helper()
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	if err := sb.WriteFaultPages(); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetIni("zz-test.ini", "memory_limit = 101M\n"); err != nil {
		t.Fatal(err)
	}
	in := startInit(t, sb, lnmptest.RunOptions{Env: sb.IniEnv()})
	defer in.Kill()
	readyLine := "child ready\t{\"child\": \"php-fpm\""
	deadline := time.Now().Add(upWithin)
	for !strings.Contains(in.Output(), readyLine) {
		if time.Now().After(deadline) {
			t.Fatalf("php-fpm not ready within %v", upWithin)
		}
		time.Sleep(time.Millisecond)
	}
	if err := change(sb); err != nil {
		t.Fatal(err)
	}
	early = !strings.Contains(in.Output(), `watching for config changes	{"child": "php-fpm"`)
	waitServing(t, sb)
	err := lnmptest.WaitUntil(appliedWithin, page+" to say "+want, func() bool { return body(sb.URL(page)) == want })
	return err == nil, early
}

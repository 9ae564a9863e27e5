package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// stubbornInGroupPHP leaves a background process that ignores SIGTERM,
// SIGQUIT and SIGHUP in php-fpm's own process group (no setsid): a PHP
// exec("... &") of a script that traps the signals.
const stubbornInGroupPHP = `<?php
exec("sh -c 'trap \"\" TERM QUIT HUP; sleep 300' < /dev/null > /dev/null 2>&1 &");
echo "stubborn\n";
`

// TestHuntStopThatNeededSIGKILLExits137: README, "a stop that needed
// SIGKILL exits 137". A process left in php-fpm's group ignores SIGQUIT
// and SIGTERM, so only the SIGKILL at the end of php-fpm's bound ends it.
//
// Fails on 702a955: the exit code is 143. The stop keeps the "strongest"
// escalation signal as the largest signal number (max(SIGTERM, SIGKILL)),
// and SIGTERM is 15, SIGKILL 9. An orchestrator or an alert that reads 137
// as "had to be killed" never sees it when the kill reached a leftover
// rather than a child itself.
//
// Passes since bd44dec (main, written meanwhile).
func TestHuntStopThatNeededSIGKILLExits137(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{ProcessControlTimeout: 2 * time.Second})
	if err := sb.WriteApp("stubborn-group.php", stubbornInGroupPHP); err != nil {
		t.Fatal(err)
	}
	in, _ := startProbed(t, sb, lnmptest.RunOptions{}, "--drain-delay=0s", "--stop-timeout=40s")
	if st, _ := getStatus(sb.URL("/stubborn-group.php")); st != 200 {
		t.Fatalf("stubborn-group.php: %d", st)
	}
	if err := in.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, in)
	if !containsAll(in.Output(), "SIGKILL") {
		t.Fatalf("precondition: no SIGKILL was needed; exit code %d", code)
	}
	if code != 137 {
		t.Errorf("exit code %d after a stop that needed SIGKILL, want 137", code)
	}
}

func containsAll(s string, words ...string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

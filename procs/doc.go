// Package procs is lnmp-init's contact with processes: the reaper, which is
// the one place that waits for children; the intake of the signals PID 1
// acts on; and the reader of /proc, for the processes lnmp-init did not
// start itself (workers, orphans) and for what they hold.
//
// A container's PID 1 inherits every orphan, so it must call wait4(-1, ...).
// A wait4(-1) loop running beside exec.Cmd.Wait steals exit statuses from it
// (FACTS.md: 36 of 500 exits lost). So nothing in lnmp-init calls Cmd.Wait:
// every process is started through Reaper.Start, which registers its owner
// while holding the lock the reap loop needs, and the reap loop routes each
// status to that owner. An exit that nobody registered is an orphan.
//
// hashicorp/go-reap and ramr/go-reaper were considered and not used: both
// reap and discard (go-reap reports the pid only, go-reaper nothing), so an
// owner cannot learn its child's exit status from them; go-reap's answer to
// the race is a lock that the caller's own Wait must hold, which makes the
// race the caller's problem again.
package procs

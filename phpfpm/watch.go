package phpfpm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/lnmp-init/lnmp-init/procs"
)

// watchInterval is how often Watch looks at a running php-fpm; pingTimeout
// bounds each of its FastCGI requests.
const (
	watchInterval = time.Second
	pingTimeout   = time.Second
)

// Watch watches the running php-fpm whose master is pid until ctx ends. It
// asks every pool of the config in force for a FastCGI answer each second
// and calls answering when readiness should change: false when a pool
// cannot be reached (refused, reset, a wrong answer) or php-fpm is stopped,
// true again when it serves. A ping that only waits, behind requests that
// hold every worker, while the master and workers run, is saturation: the
// pool is working through its queue, and it stays ready (see
// servingVerdict). It returns an error once php-fpm is hung for hang (see
// hangCheck): then only a restart helps.
func (s *Server) Watch(ctx context.Context, pid int, hang time.Duration, answering func(bool)) error {
	h := hangCheck{hang: hang}
	lastServing := true
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		now := time.Now()
		master, err := procs.ReadProc(pid)
		if err != nil {
			return nil // gone: its exit is the supervisor's to handle
		}
		runs, _ := procs.Timeslices(pid)
		pingErr := s.pingAll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		masterStopped, workersStopped := master.Stopped(), workersStopped(pid)
		if serving := servingVerdict(pingErr, masterStopped, workersStopped); serving != lastServing {
			lastServing = serving
			answering(serving)
		}
		if err := h.observe(now, runs, masterStopped, lastServing); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// servingVerdict says whether php-fpm counts as serving for readiness,
// from the pools' ping (pingErr, nil when every pool answered) and the
// state of its processes.
//
// A ping that timed out while the master and some worker run is taken as
// saturation, and still serving: every worker is busy, the ping waits in
// the listen queue behind real requests, and they are being answered in
// turn. Failing readiness then would take the pod out of the Service
// exactly when it is loaded, and with every replica loaded at once (a
// spike) the Service would have no endpoint left and refuse everything,
// where a queue would have served it. php-fpm's request_terminate_timeout
// bounds how long a worker can hold out; phpfpm_saturation tells the load.
func servingVerdict(pingErr error, masterStopped, workersStopped bool) bool {
	switch {
	case pingErr == nil:
		return true
	case masterStopped || workersStopped:
		return false
	default:
		return isTimeout(pingErr)
	}
}

// isTimeout reports whether err is a deadline that passed, rather than a
// refusal or a wrong answer.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) pingAll(ctx context.Context) error {
	for _, p := range s.Config().Pools {
		if err := s.clientMayConnect(p); err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := p.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// workersStopped reports whether no worker of the master pid can run: all
// stopped, zombies, or none at all.
func workersStopped(pid int) bool {
	t := procs.Snapshot()
	for _, w := range t.Children(pid) {
		if p := t[w]; !p.Stopped() && p.State != 'Z' {
			return false
		}
	}
	return true
}

// hangCheck tells a hung php-fpm from a busy one.
//
// php-fpm's master wakes at least once a second to manage its pool (its
// process-manager timer; measured: one more scheduler run per second in
// /proc/PID/schedstat with every worker idle). A master that has not run
// for hang is stopped (SIGSTOP, a debugger) or stuck for good, and nothing
// will stop, reload or replace its workers. And php-fpm that has not served
// for hang (see servingVerdict: no pool answers, and that is not a queue
// behind busy workers) serves nothing and will not by itself: every worker
// stopped, or its socket gone (a removed socket file, which no process
// re-creates while the master lives). Both are hung.
//
// A pool whose every worker is busy with slow requests also answers no new
// request, perhaps for longer than hang; but its master keeps running, its
// workers are not stopped and the ping waits in its queue, so it is
// saturated, not hung, and is left alone (php-fpm's own
// request_terminate_timeout is what cuts a request that never ends).
type hangCheck struct {
	hang time.Duration

	started   bool
	lastRuns  uint64
	masterRan time.Time // when the master's run count last moved
	lastServe time.Time // when php-fpm last counted as serving
}

// observe takes one look at php-fpm and returns an error once it is hung.
func (h *hangCheck) observe(now time.Time, runs uint64, masterStopped, serving bool) error {
	if !h.started {
		h.started, h.lastRuns, h.masterRan, h.lastServe = true, runs, now, now
	}
	if runs != h.lastRuns && !masterStopped {
		h.lastRuns, h.masterRan = runs, now
	}
	if serving {
		h.lastServe = now
	}
	if h.hang <= 0 {
		return nil // hang detection is off
	}
	if d := now.Sub(h.masterRan); d >= h.hang {
		state := "not scheduled"
		if masterStopped {
			state = "stopped"
		}
		return fmt.Errorf("php-fpm's master has not run for %v (%s); it wakes every second when healthy", d.Round(time.Second), state)
	}
	if d := now.Sub(h.lastServe); d >= h.hang {
		return fmt.Errorf("no pool has answered for %v, and not for want of an idle worker: the workers are stopped or the pool cannot be reached", d.Round(time.Second))
	}
	return nil
}

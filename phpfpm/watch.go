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
// asks every pool of the config in force for a FastCGI answer each second,
// judges what it sees (see verdict), and calls answering when readiness
// should change: false at once when php-fpm cannot serve (a pool refused,
// reset or answered wrongly, or its processes are stopped), and false when
// every worker has been busy for hang without a pool answering (see
// busyBound); true again at the next answer. It returns an error once
// php-fpm is hung (see hangCheck), with stuck the bound for a pool that
// answers nothing at all while its workers are busy: then only a restart
// helps.
func (s *Server) Watch(ctx context.Context, pid int, hang time.Duration, stuck func() time.Duration, answering func(bool)) error {
	h := hangCheck{hang: hang}
	lastReady := true
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
		masterStopped := master.Stopped()
		v := judge(pingErr, masterStopped, workersStopped(pid))
		h.stuck = stuck()
		err = h.observe(now, runs, masterStopped, v)
		if ready := h.ready(now, v); ready != lastReady {
			lastReady = ready
			answering(ready)
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// verdict is what one look at php-fpm says.
type verdict int

const (
	// answered: every pool answered the ping.
	answered verdict = iota
	// busy: a ping waited past its timeout while the master and some
	// worker run: every worker is taken by a request, the ping queued
	// behind them in the listen queue.
	busy
	// down: php-fpm cannot serve as it is: a pool refused or reset the
	// connection, its socket is gone, it answered wrongly, or the master
	// or every worker is stopped.
	down
)

// judge reads the pools' ping (pingErr, nil when every pool answered) and
// the state of php-fpm's processes.
func judge(pingErr error, masterStopped, workersStopped bool) verdict {
	switch {
	case pingErr == nil:
		return answered
	case masterStopped || workersStopped || !isTimeout(pingErr):
		return down
	default:
		return busy
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

// hangCheck tells a hung php-fpm from a busy one, and says when a busy one
// is to leave the Service.
//
// php-fpm's master wakes at least once a second to manage its pool (its
// process-manager timer; measured: one more scheduler run per second in
// /proc/PID/schedstat with every worker idle). A master that has not run
// for hang is stopped (SIGSTOP, a debugger) or stuck for good, and nothing
// will stop, reload or replace its workers: hung. So is a php-fpm that has
// been down (see verdict) for hang: every worker stopped, or its socket
// file removed, which no process re-creates while the master lives.
//
// A pool whose every worker is busy with slow requests answers no new
// request either, but its master runs, its workers are not stopped and
// the ping waits in its queue: it is saturated, and left alone as long as
// its requests may still complete. It stays ready for hang (a burst of
// slow requests does not flap the endpoint), then turns not ready (a new
// request would wait longer than that), and is hung only once nothing has
// answered for stuck: nginx's longest fastcgi_read_timeout plus hang, by
// when nginx has answered 504 to every request it queued and the workers
// still hold theirs. php-fpm's own request_terminate_timeout, when set,
// frees such workers sooner.
type hangCheck struct {
	hang, stuck time.Duration

	started    bool
	lastRuns   uint64
	masterRan  time.Time // when the master's run count last moved
	lastAnswer time.Time // when every pool last answered
	lastUp     time.Time // when php-fpm was last answered or busy
}

// observe takes one look at php-fpm and returns an error once it is hung.
func (h *hangCheck) observe(now time.Time, runs uint64, masterStopped bool, v verdict) error {
	if !h.started {
		h.started, h.lastRuns, h.masterRan, h.lastAnswer, h.lastUp = true, runs, now, now, now
	}
	if runs != h.lastRuns && !masterStopped {
		h.lastRuns, h.masterRan = runs, now
	}
	if v == answered {
		h.lastAnswer = now
	}
	if v != down {
		h.lastUp = now
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
	if d := now.Sub(h.lastUp); d >= h.hang {
		return fmt.Errorf("php-fpm has not been reachable for %v: its workers are stopped or its socket is gone", d.Round(time.Second))
	}
	if d := now.Sub(h.lastAnswer); h.stuck > 0 && d >= h.stuck {
		return fmt.Errorf("no pool has answered for %v with every worker busy: nginx has given up on the requests it queued (fastcgi_read_timeout), and the workers still hold theirs", d.Round(time.Second))
	}
	return nil
}

// ready says whether php-fpm counts as ready after the look v at now: it
// answers, or it is busy for less than hang since it last answered (hang
// off: for as long as it is busy).
func (h *hangCheck) ready(now time.Time, v verdict) bool {
	switch v {
	case answered:
		return true
	case busy:
		return h.hang <= 0 || now.Sub(h.lastAnswer) < h.hang
	}
	return false
}

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The supervisor's part in a reload, which the reloader drives: SIGHUP
// reaches the reloader through Deps.Reload; the reloader validates the new
// config, asks Run to send the reload signal (SignalReload), waits until
// the child serves the new config, and tells Run the outcome (ReloadDone).

// ErrStopping refuses a reload once a stop has begun: reloads never run
// during a stop.
var ErrStopping = errors.New("lnmp-init is stopping")

// ErrNotReady refuses a reload of a child that is starting or restarting;
// the caller may try again once it is ready.
var ErrNotReady = errors.New("not ready")

// ReloadResult is how a reload ended.
type ReloadResult struct {
	// Served is true when the child serves the new config.
	Served bool
	// GracefulStop is the child's Spec.GracefulStop under the new config;
	// it is taken when Served.
	GracefulStop time.Duration
}

// reloadRequest asks Run to send a child its reload signal.
type reloadRequest struct {
	child string
	pid   int
	reply chan error
}

// reloadOutcome tells Run that a reload is over.
type reloadOutcome struct {
	child string
	ReloadResult
}

// SignalReload sends the named child its ReloadSignal, from Run's
// goroutine, provided its running process is pid (the one the caller
// prepared the reload for). It fails when a stop has begun (ErrStopping),
// and when the child is not running or ready or has been restarted since
// (ErrNotReady). After a nil error the caller owes ReloadDone: until then a
// stop holds back the child's stop signal, so a php-fpm re-executing itself
// on SIGUSR2 is never sent SIGQUIT half-way.
func (s *Supervisor) SignalReload(ctx context.Context, child string, pid int) error {
	r := reloadRequest{child: child, pid: pid, reply: make(chan error, 1)}
	select {
	case s.reloadc <- r:
	case <-s.quit:
		return ErrStopping
	case <-ctx.Done():
		return ctx.Err()
	}
	// Run answers at once into the buffered reply.
	return <-r.reply
}

// ReloadDone tells Run that the child's reload is over, and how.
func (s *Supervisor) ReloadDone(child string, r ReloadResult) {
	select {
	case s.reloadDone <- reloadOutcome{child, r}:
	case <-s.quit:
	}
}

// onReloadRequest signals the child when nothing stands against it.
func (s *Supervisor) onReloadRequest(r reloadRequest) {
	c := s.child(r.child)
	switch {
	case c == nil:
		r.reply <- fmt.Errorf("no child %q", r.child)
	case s.phase >= draining:
		r.reply <- ErrStopping
	case c.proc == nil || !c.ready:
		r.reply <- fmt.Errorf("%s: %w", r.child, ErrNotReady)
	case c.proc.Pid() != r.pid:
		r.reply <- fmt.Errorf("%s: restarted since the reload was prepared: %w", r.child, ErrNotReady)
	default:
		if err := c.proc.Signal(c.spec.ReloadSignal); err != nil {
			r.reply <- fmt.Errorf("signal %s: %w", r.child, err)
			return
		}
		c.reloading = true
		s.logChild(c).Info("reload signal sent", zap.String("signal", unix.SignalName(c.spec.ReloadSignal)))
		r.reply <- nil
	}
}

// onReloadDone takes the new config's stop bound, unless a stop has begun
// (it keeps the bounds it started with), and lets a stop that waited for
// the reload go on.
func (s *Supervisor) onReloadDone(o reloadOutcome) {
	c := s.child(o.child)
	if c == nil || !c.reloading {
		return
	}
	c.reloading = false
	if o.Served && s.phase < draining && c.spec.GracefulStop != o.GracefulStop {
		s.logChild(c).Info("graceful stop bound changed by a reload", zap.Duration("from", c.spec.GracefulStop), zap.Duration("to", o.GracefulStop))
		c.spec.GracefulStop = o.GracefulStop
	}
	s.releaseHeldStop(c)
}

func (s *Supervisor) child(name string) *child {
	for _, c := range s.children {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

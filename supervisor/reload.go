package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// ErrStopping refuses a reload once a stop has begun: reloads never run
// during a stop.
var ErrStopping = errors.New("lnmp-init is stopping")

// ErrNotReady refuses a reload of a child that is starting or restarting;
// the caller may try again once it is ready.
var ErrNotReady = errors.New("not ready")

// reloadRequest asks Run to send a child its reload signal.
type reloadRequest struct {
	child string
	reply chan error
}

// SignalReload sends the named child its ReloadSignal, from Run's goroutine.
// It fails when the child is not running or ready, or a stop has begun.
// Call ReloadDone once the child serves its new config: until then a stop
// holds back the child's stop signal, so a php-fpm re-executing itself on
// SIGUSR2 is never sent SIGQUIT half-way.
func (s *Supervisor) SignalReload(ctx context.Context, child string) error {
	r := reloadRequest{child: child, reply: make(chan error, 1)}
	select {
	case s.reloadc <- r:
	case <-s.quit:
		return ErrStopping
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.reply:
		return err
	case <-ctx.Done():
		// Run answers into the buffered reply; the reload it may have
		// started is ended by ReloadDone, which the caller still owes.
		return ctx.Err()
	}
}

// ReloadDone tells Run that the child's reload is over, whatever its result.
func (s *Supervisor) ReloadDone(child string) {
	select {
	case s.reloadDone <- child:
	case <-s.quit:
	}
}

// boundChange updates a child's StopBound after a reload changed it.
type boundChange struct {
	child string
	bound time.Duration
}

// SetStopBound sets the named child's StopBound, for a reloaded config whose
// process_control_timeout or worker_shutdown_timeout changed. A stop that
// has already begun keeps the bounds it started with.
func (s *Supervisor) SetStopBound(child string, bound time.Duration) {
	select {
	case s.bounds <- boundChange{child, bound}:
	case <-s.quit:
	}
}

func (s *Supervisor) onBoundChange(b boundChange) {
	if c := s.child(b.child); c != nil && s.phase < draining && c.spec.StopBound != b.bound {
		s.logChild(c).Info("stop bound changed by a reload", zap.Duration("from", c.spec.StopBound), zap.Duration("to", b.bound))
		c.spec.StopBound = b.bound
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

// onReloadDone lets a stop that waited for the reload go on.
func (s *Supervisor) onReloadDone(name string) {
	c := s.child(name)
	if c == nil || !c.reloading {
		return
	}
	c.reloading = false
	if s.phase == stopping && s.children[s.stopIdx] == c && c.stopHeld {
		c.stopHeld = false
		s.sendStop(c)
	}
}

func (s *Supervisor) child(name string) *child {
	for _, c := range s.children {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

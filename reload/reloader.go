package reload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/supervisor"
)

// Target is one program the reloader can reload.
type Target struct {
	// Name is the program's name, the same as its Group's and its child's
	// in the supervisor.
	Name string
	// Validate checks the config on disk (nginx -t, php-fpm -t).
	Validate func(ctx context.Context) error
	// Begin is called just before the reload signal goes to the child's
	// process pid, and returns what tells that the program serves the new
	// config: for php-fpm, the workers from before the signal are gone and
	// a new one answers. An error (the new config cannot be read) refuses
	// the reload.
	Begin func(pid int) (Progress, error)
	// Timeout bounds the whole reload, validation included.
	Timeout time.Duration
	// DiedOfConfig, when set, tells from the exit code of a child that
	// ended during its reload whether the new config killed it (php-fpm's
	// master exits 78 on a config it cannot run). Any other end (nil: every
	// end; nginx's master never dies of a reload) interrupted the reload,
	// which is then done again on the restarted child.
	DiedOfConfig func(code int) bool
}

// Progress is a reload in progress, as the program's own package judges it.
type Progress interface {
	// Served reports whether the program serves the new config yet. The
	// reloader asks every settlePoll until it does or the timeout passes.
	Served(ctx context.Context) bool
	// Commit makes the new config the one lnmp-init goes by (addresses to
	// ping, stop bounds) and returns the child's graceful-stop bound under
	// it. It is called once Served has said yes.
	Commit() time.Duration
}

// Supervisor is the supervisor's side of a reload; *supervisor.Supervisor
// is one.
type Supervisor interface {
	// Status says which process each child runs.
	Status() *supervisor.Status
	// SignalReload sends the child's process pid its reload signal, unless
	// a stop has begun (supervisor.ErrStopping) or the child is not ready
	// (supervisor.ErrNotReady).
	SignalReload(ctx context.Context, child string, pid int) error
	// ReloadDone ends a reload that SignalReload started.
	ReloadDone(child string, r supervisor.ReloadResult)
}

const (
	// retryNotReady is how often a reload retries a child that is starting
	// or restarting: a change must not be lost because it came then.
	retryNotReady = 100 * time.Millisecond
	// settlePoll is how often a reload asks whether the new config serves.
	settlePoll = 20 * time.Millisecond
)

// Reloader validates and reloads one target at a time.
type Reloader struct {
	// Targets in reload order: php-fpm before nginx, so a pool an nginx
	// config starts to use exists before nginx sends to it.
	Targets    []Target
	Supervisor Supervisor
	Log        *zap.Logger
	// Done, when set, is told each result: "ok", "invalid" (refused by
	// validation), "failed" (signalled, but not serving the new config in
	// time) or "skipped" (not ready in time, or stopping).
	Done func(child, result string, at time.Time)

	clock clock
}

// Run reloads the changed targets of every Change, and every target on each
// request (SIGHUP), until ctx ends. Reloads never overlap. End ctx when a
// stop begins: no reload starts during a stop (one already signalled runs
// to its end, so that the stop can hold the child's stop signal for it).
func (r *Reloader) Run(ctx context.Context, changes <-chan Change, requests <-chan struct{}) {
	for {
		// A change and the end may be ready together; the end wins.
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case c := <-changes:
			r.reload(ctx, c.Groups, c.Paths, "files changed")
		case <-requests:
			var all []string
			for _, t := range r.Targets {
				all = append(all, t.Name)
			}
			r.reload(ctx, all, nil, "SIGHUP")
		}
	}
}

func (r *Reloader) reload(ctx context.Context, groups, paths []string, trigger string) {
	for _, t := range r.Targets {
		for _, g := range groups {
			if g == t.Name {
				r.reloadOne(ctx, t, paths, trigger)
			}
		}
	}
}

// reloadOne validates, signals and waits for one target, and logs one event
// with what changed, the validation result and how long it took.
func (r *Reloader) reloadOne(ctx context.Context, t Target, paths []string, trigger string) {
	clk := r.clockOrReal()
	start := clk.Now()
	log := r.Log.With(zap.String("child", t.Name), zap.String("trigger", trigger), zap.Strings("paths", paths))
	result := func(res string, fields ...zap.Field) {
		fields = append(fields, zap.String("result", res), zap.Duration("duration", clk.Now().Sub(start)))
		switch res {
		case "ok":
			log.Info("config reloaded", fields...)
		case "skipped":
			log.Warn("config reload skipped", fields...)
		case "invalid":
			log.Error("config reload refused; the old config keeps serving", fields...)
		default:
			log.Error("config reload failed: signalled, but the new config does not serve; the old one is kept", fields...)
		}
		if r.Done != nil {
			r.Done(t.Name, res, clk.Now())
		}
	}
	vctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	if err := t.Validate(vctx); err != nil {
		if ctx.Err() != nil {
			return // the end, not the config, cut the validation short
		}
		result("invalid", zap.String("validation", err.Error()))
		return
	}
	for attempt := 1; ; attempt++ {
		err := r.apply(ctx, vctx, t)
		var be *beginError
		var ie *interruptedError
		switch {
		case err == nil:
			result("ok", zap.String("validation", "ok"))
		case errors.As(err, &be):
			result("invalid", zap.String("validation", "ok"), zap.String("reason", be.err.Error()))
		case errors.As(err, &ie) && attempt == 1 && !(t.DiedOfConfig != nil && t.DiedOfConfig(ie.code)):
			log.Warn("the reload was cut short by a restart of the child; reloading again", zap.Error(err))
			continue
		case errors.As(err, &signalError{}):
			result("skipped", zap.String("validation", "ok"), zap.String("reason", err.Error()))
		default:
			result("failed", zap.String("validation", "ok"), zap.String("reason", err.Error()))
		}
		return
	}
}

// apply signals t and waits until the new config serves, and tells the
// supervisor the outcome.
func (r *Reloader) apply(ctx, vctx context.Context, t Target) error {
	progress, pid, err := r.signal(vctx, t)
	if err != nil {
		var be *beginError
		if errors.As(err, &be) {
			return err
		}
		return signalError{err}
	}
	// Signalled: wait for the end even if ctx ends meanwhile, so that the
	// supervisor learns it (a held stop goes on at ReloadDone).
	sctx, cancelSettle := context.WithTimeout(context.WithoutCancel(ctx), t.Timeout)
	defer cancelSettle()
	if err := r.await(sctx, t.Name, pid, progress); err != nil {
		r.Supervisor.ReloadDone(t.Name, supervisor.ReloadResult{})
		return err
	}
	r.Supervisor.ReloadDone(t.Name, supervisor.ReloadResult{Served: true, GracefulStop: progress.Commit()})
	return nil
}

// signalError is a reload that could not be signalled (stopping, not
// ready in time).
type signalError struct{ error }

// interruptedError is a child that ended during its reload, with its
// exit code.
type interruptedError struct {
	child string
	pid   int
	code  int
}

func (e *interruptedError) Error() string {
	return fmt.Sprintf("%s (pid %d) ended during its reload, exit code %d; the new config is not in force", e.child, e.pid, e.code)
}

// signal sends t its reload signal, waiting while the child is starting or
// restarting, and returns the progress to wait on and the pid signalled.
func (r *Reloader) signal(ctx context.Context, t Target) (Progress, int, error) {
	for {
		pid := r.Supervisor.Status().Pid(t.Name)
		var progress Progress
		err := fmt.Errorf("%s: %w", t.Name, supervisor.ErrNotReady)
		if pid != 0 {
			if progress, err = t.Begin(pid); err != nil {
				return nil, 0, &beginError{err}
			}
			err = r.Supervisor.SignalReload(ctx, t.Name, pid)
		}
		if err == nil || !errors.Is(err, supervisor.ErrNotReady) {
			return progress, pid, err
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("%w (waited %v)", err, t.Timeout)
		case <-r.clockOrReal().After(retryNotReady):
		}
	}
}

// await asks p every settlePoll until the new config serves or ctx ends.
// A child that is no longer the process pid was restarted: it died of the
// new config, and what answers now is its successor, not the reload.
func (r *Reloader) await(ctx context.Context, child string, pid int, p Progress) error {
	for {
		if st := r.Supervisor.Status(); st.Pid(child) != pid {
			return &interruptedError{child: child, pid: pid, code: st.LastExit(child)}
		}
		if p.Served(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the new config to serve: %w", ctx.Err())
		case <-r.clockOrReal().After(settlePoll):
		}
	}
}

func (r *Reloader) clockOrReal() clock {
	if r.clock == nil {
		return realClock{}
	}
	return r.clock
}

// beginError is a Target.Begin that failed: the reload is refused.
type beginError struct{ err error }

func (e *beginError) Error() string { return e.err.Error() }

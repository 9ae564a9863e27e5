package reload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Target is one program the reloader can reload.
type Target struct {
	// Name is the program's name, the same as its Group's and its child's
	// in the supervisor.
	Name string
	// Validate checks the config on disk (nginx -t, php-fpm -t).
	Validate func(ctx context.Context) error
	// Prepare is called just before the reload signal and returns the wait
	// that ends once the program serves the new config: for php-fpm, the
	// workers from before the signal are gone and a new one answers.
	Prepare func() (settled func(ctx context.Context) error)
	// Timeout bounds that wait.
	Timeout time.Duration
}

// Signaller is the supervisor's side of a reload.
type Signaller interface {
	// SignalReload sends the child its reload signal, unless a stop has
	// begun or the child is not ready (then the error wraps ErrNotReady).
	SignalReload(ctx context.Context, child string) error
	// ReloadDone ends a reload that SignalReload started.
	ReloadDone(child string)
}

// retryNotReady is how often a reload retries a child that is starting or
// restarting: a change must not be lost because it came at that moment.
const retryNotReady = 100 * time.Millisecond

// Reloader validates and reloads one target at a time.
type Reloader struct {
	// Targets in reload order: php-fpm before nginx, so a pool an nginx
	// config starts to use exists before nginx sends to it.
	Targets   []Target
	Signaller Signaller
	Log       *zap.Logger
	// Done, when set, is told each result: "ok", "invalid" (refused by
	// validation), "failed" (signalled, but not serving the new config in
	// time) or "skipped" (not ready in time, or stopping).
	Done func(child, result string, at time.Time)
	// Stopping, when set, reports a stop in progress: then nothing is
	// validated, since validators are children the stop would wait for.
	Stopping func() bool
	// NotReady tells SignalReload's "not ready yet" from other refusals.
	NotReady error
}

// Run reloads the changed targets of every Change, and every target on each
// request (SIGHUP), until ctx ends. Reloads never overlap.
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
// signal sends t its reload signal, waiting while the child is starting or
// restarting, and returns the wait for the new config to serve.
func (r *Reloader) signal(ctx context.Context, t Target) (func(context.Context) error, error) {
	for {
		settled := t.Prepare()
		err := r.Signaller.SignalReload(ctx, t.Name)
		if err == nil || r.NotReady == nil || !errors.Is(err, r.NotReady) {
			return settled, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waited %v)", err, t.Timeout)
		case <-time.After(retryNotReady):
		}
	}
}

func (r *Reloader) reloadOne(ctx context.Context, t Target, paths []string, trigger string) {
	start := time.Now()
	log := r.Log.With(zap.String("child", t.Name), zap.String("trigger", trigger), zap.Strings("paths", paths))
	result := func(res string, fields ...zap.Field) {
		fields = append(fields, zap.String("result", res), zap.Duration("duration", time.Since(start)))
		switch res {
		case "ok":
			log.Info("config reloaded", fields...)
		case "skipped":
			log.Warn("config reload skipped", fields...)
		case "invalid":
			log.Error("config reload refused; the old config keeps serving", fields...)
		default:
			log.Error("config reload failed: signalled, but the new config did not serve in time", fields...)
		}
		if r.Done != nil {
			r.Done(t.Name, res, time.Now())
		}
	}
	if r.Stopping != nil && r.Stopping() {
		result("skipped", zap.String("reason", "stopping"))
		return
	}
	vctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	if err := t.Validate(vctx); err != nil {
		result("invalid", zap.String("validation", err.Error()))
		return
	}
	settled, err := r.signal(vctx, t)
	if err != nil {
		result("skipped", zap.String("validation", "ok"), zap.String("reason", err.Error()))
		return
	}
	defer r.Signaller.ReloadDone(t.Name)
	if err := settled(vctx); err != nil {
		result("failed", zap.String("validation", "ok"), zap.String("reason", err.Error()))
		return
	}
	result("ok", zap.String("validation", "ok"))
}

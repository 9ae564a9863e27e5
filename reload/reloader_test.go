package reload

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// fakeSupervisor records the reload protocol.
type fakeSupervisor struct {
	mu     sync.Mutex
	events []string
	refuse error
}

func (f *fakeSupervisor) SignalReload(_ context.Context, child string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.events = append(f.events, "signal "+child)
	return nil
}

func (f *fakeSupervisor) ReloadDone(child string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "done "+child)
}

func fakeTarget(name string, invalid, unsettled error, log *[]string) Target {
	return Target{
		Name:     name,
		Validate: func(context.Context) error { *log = append(*log, "validate "+name); return invalid },
		Prepare: func() func(context.Context) error {
			return func(context.Context) error { *log = append(*log, "settled "+name); return unsettled }
		},
		Timeout: time.Second,
	}
}

func TestReloaderProtocol(t *testing.T) {
	for _, tc := range []struct {
		name           string
		invalid, unset error
		refuse         error
		steps, events  []string
		result         string
	}{
		{"ok", nil, nil, nil, []string{"validate nginx", "settled nginx"}, []string{"signal nginx", "done nginx"}, "ok"},
		{"invalid config is never signalled", errors.New("[emerg] unknown directive"), nil, nil, []string{"validate nginx"}, nil, "invalid"},
		{"stopping", nil, nil, errors.New("lnmp-init is stopping"), []string{"validate nginx"}, nil, "skipped"},
		{"not serving afterwards", nil, errors.New("timeout"), nil, []string{"validate nginx", "settled nginx"}, []string{"signal nginx", "done nginx"}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var steps []string
			sup := &fakeSupervisor{refuse: tc.refuse}
			var results []string
			r := &Reloader{Targets: []Target{fakeTarget("nginx", tc.invalid, tc.unset, &steps)}, Signaller: sup, Log: zap.NewNop(),
				Done: func(child, result string, _ time.Time) { results = append(results, child+" "+result) }}
			r.reload(context.Background(), []string{"nginx"}, []string{"/etc/nginx/conf.d/..data"}, "files changed")
			if !reflect.DeepEqual(steps, tc.steps) || !reflect.DeepEqual(sup.events, tc.events) {
				t.Errorf("steps %v, supervisor %v; want %v, %v", steps, sup.events, tc.steps, tc.events)
			}
			if !reflect.DeepEqual(results, []string{"nginx " + tc.result}) {
				t.Errorf("results %v, want nginx %s", results, tc.result)
			}
		})
	}
}

// TestReloaderOrderAndSIGHUP: php-fpm is reloaded before nginx, only the
// changed groups on a Change, every target on a request.
func TestReloaderOrderAndSIGHUP(t *testing.T) {
	var steps []string
	sup := &fakeSupervisor{}
	r := &Reloader{Targets: []Target{fakeTarget("php-fpm", nil, nil, &steps), fakeTarget("nginx", nil, nil, &steps)}, Signaller: sup, Log: zap.NewNop()}
	changes, requests := make(chan Change), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, changes, requests); close(done) }()
	changes <- Change{Groups: []string{"nginx"}}
	requests <- struct{}{}
	changes <- Change{} // handled after the request: Run is sequential
	cancel()
	<-done
	want := []string{"signal nginx", "done nginx", "signal php-fpm", "done php-fpm", "signal nginx", "done nginx"}
	if !reflect.DeepEqual(sup.events, want) {
		t.Fatalf("supervisor saw %v, want %v", sup.events, want)
	}
}

// notReadyTwice refuses twice with errNotReady, then accepts.
type notReadyTwice struct {
	fakeSupervisor
	refusals int
}

var errNotReady = errors.New("not ready")

func (f *notReadyTwice) SignalReload(ctx context.Context, child string) error {
	if f.refusals < 2 {
		f.refusals++
		return fmt.Errorf("%s: %w", child, errNotReady)
	}
	return f.fakeSupervisor.SignalReload(ctx, child)
}

// TestReloadWaitsForAStartingChild: a change that arrives while the child
// starts or restarts is applied once it is ready, not dropped.
func TestReloadWaitsForAStartingChild(t *testing.T) {
	var steps []string
	sup := &notReadyTwice{}
	var results []string
	r := &Reloader{Targets: []Target{fakeTarget("nginx", nil, nil, &steps)}, Signaller: sup, Log: zap.NewNop(), NotReady: errNotReady,
		Done: func(child, result string, _ time.Time) { results = append(results, result) }}
	r.reload(context.Background(), []string{"nginx"}, nil, "files changed")
	if sup.refusals != 2 || !reflect.DeepEqual(sup.events, []string{"signal nginx", "done nginx"}) || !reflect.DeepEqual(results, []string{"ok"}) {
		t.Fatalf("refusals %d, events %v, results %v", sup.refusals, sup.events, results)
	}
}

// TestNoValidationDuringAStop: validators are children a stop would wait
// for, so none runs once a stop has begun.
func TestNoValidationDuringAStop(t *testing.T) {
	var steps []string
	sup := &fakeSupervisor{}
	r := &Reloader{Targets: []Target{fakeTarget("nginx", nil, nil, &steps)}, Signaller: sup, Log: zap.NewNop(),
		Stopping: func() bool { return true }}
	r.reload(context.Background(), []string{"nginx"}, nil, "SIGHUP")
	if len(steps) != 0 || len(sup.events) != 0 {
		t.Fatalf("steps %v, events %v during a stop", steps, sup.events)
	}
}

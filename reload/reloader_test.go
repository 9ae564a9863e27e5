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

	"github.com/lnmp-init/lnmp-init/supervisor"
)

// fakeSupervisor records the reload protocol.
type fakeSupervisor struct {
	mu     sync.Mutex
	events []string
	refuse error
	// notReady refusals come before any other answer.
	notReady int
}

func (f *fakeSupervisor) Status() *supervisor.Status {
	return &supervisor.Status{Children: []supervisor.ChildStatus{{Name: "php-fpm", Pid: 10}, {Name: "nginx", Pid: 20}}}
}

func (f *fakeSupervisor) SignalReload(_ context.Context, child string, pid int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notReady > 0 {
		f.notReady--
		return fmt.Errorf("%s: %w", child, supervisor.ErrNotReady)
	}
	if f.refuse != nil {
		return f.refuse
	}
	f.events = append(f.events, fmt.Sprintf("signal %s %d", child, pid))
	return nil
}

func (f *fakeSupervisor) ReloadDone(child string, r supervisor.ReloadResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf("done %s %v %v", child, r.Served, r.GracefulStop))
}

// fakeProgress is served after a number of polls, or never.
type fakeProgress struct {
	name  string
	polls int // Served says yes at this poll; -1: never
	log   *[]string
}

func (p *fakeProgress) Served(context.Context) bool {
	if p.polls < 0 {
		return false
	}
	p.polls--
	return p.polls < 0
}

func (p *fakeProgress) Commit() time.Duration {
	*p.log = append(*p.log, "commit "+p.name)
	return 7 * time.Second
}

// fakeTarget records its steps in log; polls is fakeProgress's.
func fakeTarget(name string, invalid error, polls int, log *[]string) Target {
	return Target{
		Name:     name,
		Validate: func(context.Context) error { *log = append(*log, "validate "+name); return invalid },
		Begin: func(pid int) (Progress, error) {
			*log = append(*log, fmt.Sprintf("begin %s %d", name, pid))
			return &fakeProgress{name: name, polls: polls, log: log}, nil
		},
		Timeout: 300 * time.Millisecond,
	}
}

// instantClock makes every wait of a Reloader end at once.
type instantClock struct{}

func (instantClock) Now() time.Time { return time.Unix(0, 0) }
func (instantClock) After(time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Unix(0, 0)
	return c
}

func TestReloaderProtocol(t *testing.T) {
	for _, tc := range []struct {
		name          string
		invalid       error
		polls         int
		refuse        error
		steps, events []string
		result        string
	}{
		{"ok", nil, 3, nil, []string{"validate nginx", "begin nginx 20", "commit nginx"},
			[]string{"signal nginx 20", "done nginx true 7s"}, "ok"},
		{"invalid config is never signalled", errors.New("[emerg] unknown directive"), 0, nil,
			[]string{"validate nginx"}, nil, "invalid"},
		{"stopping", nil, 0, supervisor.ErrStopping, []string{"validate nginx", "begin nginx 20"}, nil, "skipped"},
		{"not serving afterwards", nil, -1, nil, []string{"validate nginx", "begin nginx 20"},
			[]string{"signal nginx 20", "done nginx false 0s"}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var steps []string
			sup := &fakeSupervisor{refuse: tc.refuse}
			var results []string
			r := &Reloader{Targets: []Target{fakeTarget("nginx", tc.invalid, tc.polls, &steps)}, Supervisor: sup, Log: zap.NewNop(),
				Done:  func(child, result string, _ time.Time) { results = append(results, child+" "+result) },
				clock: instantClock{}}
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
	r := &Reloader{Targets: []Target{fakeTarget("php-fpm", nil, 0, &steps), fakeTarget("nginx", nil, 0, &steps)},
		Supervisor: sup, Log: zap.NewNop(), clock: instantClock{}}
	changes, requests := make(chan Change), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, changes, requests); close(done) }()
	changes <- Change{Groups: []string{"nginx"}}
	requests <- struct{}{}
	changes <- Change{} // handled after the request: Run is sequential
	cancel()
	<-done
	want := []string{"signal nginx 20", "done nginx true 7s", "signal php-fpm 10", "done php-fpm true 7s", "signal nginx 20", "done nginx true 7s"}
	if !reflect.DeepEqual(sup.events, want) {
		t.Fatalf("supervisor saw %v, want %v", sup.events, want)
	}
}

// TestReloadWaitsForAStartingChild: a change that arrives while the child
// starts or restarts is applied once it is ready, not dropped.
func TestReloadWaitsForAStartingChild(t *testing.T) {
	var steps []string
	sup := &fakeSupervisor{notReady: 2}
	var results []string
	r := &Reloader{Targets: []Target{fakeTarget("nginx", nil, 0, &steps)}, Supervisor: sup, Log: zap.NewNop(),
		Done:  func(child, result string, _ time.Time) { results = append(results, result) },
		clock: instantClock{}}
	r.reload(context.Background(), []string{"nginx"}, nil, "files changed")
	if sup.notReady != 0 || !reflect.DeepEqual(sup.events, []string{"signal nginx 20", "done nginx true 7s"}) || !reflect.DeepEqual(results, []string{"ok"}) {
		t.Fatalf("refusals left %d, events %v, results %v", sup.notReady, sup.events, results)
	}
}

// TestNoReloadOnceTheContextEnds: the context ends when a stop begins (or
// at the end); a change still queued is neither validated nor signalled.
func TestNoReloadOnceTheContextEnds(t *testing.T) {
	var steps []string
	sup := &fakeSupervisor{}
	r := &Reloader{Targets: []Target{fakeTarget("nginx", nil, 0, &steps)}, Supervisor: sup, Log: zap.NewNop(), clock: instantClock{}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	changes := make(chan Change, 1)
	changes <- Change{Groups: []string{"nginx"}}
	r.Run(ctx, changes, nil)
	if len(steps) != 0 || len(sup.events) != 0 {
		t.Fatalf("steps %v, events %v after the context ended", steps, sup.events)
	}
}

// TestSignalledReloadOutlivesTheContext: a stop that begins after the
// reload signal was sent still hears how the reload ended (it holds the
// child's stop signal until then).
func TestSignalledReloadOutlivesTheContext(t *testing.T) {
	var steps []string
	sup := &fakeSupervisor{}
	ctx, cancel := context.WithCancel(context.Background())
	tgt := fakeTarget("php-fpm", nil, 2, &steps)
	begin := tgt.Begin
	tgt.Begin = func(pid int) (Progress, error) { cancel(); return begin(pid) }
	r := &Reloader{Targets: []Target{tgt}, Supervisor: sup, Log: zap.NewNop(), clock: instantClock{}}
	r.reload(ctx, []string{"php-fpm"}, nil, "SIGHUP")
	if want := []string{"signal php-fpm 10", "done php-fpm true 7s"}; !reflect.DeepEqual(sup.events, want) {
		t.Fatalf("supervisor saw %v, want %v", sup.events, want)
	}
}

// restartingSupervisor restarts its child right after the first reload
// signal: the pid changes, with lastExit as the old process's exit code.
type restartingSupervisor struct {
	fakeSupervisor
	lastExit  int
	restarted bool
}

func (f *restartingSupervisor) Status() *supervisor.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	pid, last := 10, -1
	if f.restarted {
		pid, last = 11, f.lastExit
	}
	return &supervisor.Status{Children: []supervisor.ChildStatus{{Name: "php-fpm", Pid: pid, LastExit: last}}}
}

func (f *restartingSupervisor) SignalReload(ctx context.Context, child string, pid int) error {
	err := f.fakeSupervisor.SignalReload(ctx, child, pid)
	f.mu.Lock()
	f.restarted = true
	f.mu.Unlock()
	return err
}

// TestReloadCutShortByARestart: a child that ends during its reload of
// something other than the config (SIGKILL) gets the reload again once
// restarted; one that died of the config (php-fpm's 78) is a failed reload.
func TestReloadCutShortByARestart(t *testing.T) {
	for code, want := range map[int]string{137: "ok", 78: "failed"} {
		var steps, results []string
		sup := &restartingSupervisor{lastExit: code}
		tgt := fakeTarget("php-fpm", nil, 1, &steps)
		tgt.DiedOfConfig = func(c int) bool { return c == 78 }
		r := &Reloader{Targets: []Target{tgt}, Supervisor: sup, Log: zap.NewNop(), clock: instantClock{},
			Done: func(_, result string, _ time.Time) { results = append(results, result) }}
		r.reload(context.Background(), []string{"php-fpm"}, nil, "files changed")
		if !reflect.DeepEqual(results, []string{want}) {
			t.Errorf("exit %d during the reload: results %v, want [%s]; supervisor saw %v", code, results, want, sup.events)
		}
	}
}

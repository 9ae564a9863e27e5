package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/supervisor"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func get(t *testing.T, s *Server, path string) (int, answer) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	var a answer
	if err := json.NewDecoder(rec.Body).Decode(&a); err != nil {
		t.Fatalf("%s: body is not JSON: %v", path, err)
	}
	return rec.Code, a
}

func running() *supervisor.Status {
	return &supervisor.Status{Phase: "running", Ready: true, Live: true, Children: []supervisor.ChildStatus{
		{Name: "php-fpm", Running: true, Ready: true}, {Name: "nginx", Running: true, Ready: true}}}
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status func() *supervisor.Status
		ping   error
		code   int
		reason string
	}{
		{"serving", running, nil, 200, ""},
		{"php-fpm does not answer", running, errors.New("connection refused"), 503, "php-fpm does not answer: connection refused"},
		{"draining", func() *supervisor.Status {
			st := running()
			st.Phase, st.Ready, st.Draining = "draining", false, true
			return st
		}, nil, 503, "stopping: phase draining"},
		{"php-fpm restarting", func() *supervisor.Status {
			st := running()
			st.Ready, st.Children[0].Ready = false, false
			return st
		}, nil, 503, "php-fpm is starting or restarting"},
		{"nginx down", func() *supervisor.Status {
			st := running()
			st.Ready, st.Children[1].Running, st.Children[1].Ready = false, false, false
			return st
		}, nil, 503, "nginx is not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{Status: tc.status, Pools: func() []Pinger { return []Pinger{pinger{tc.ping}} }, Log: zap.NewNop()}
			code, a := get(t, s, "/readyz")
			if code != tc.code || (tc.reason != "" && !strings.Contains(strings.Join(a.Reasons, "; "), tc.reason)) {
				t.Errorf("got %d %+v, want %d with %q", code, a, tc.code, tc.reason)
			}
		})
	}
}

func TestLivez(t *testing.T) {
	st := running()
	s := &Server{Status: func() *supervisor.Status { return st }, Log: zap.NewNop()}
	if code, _ := get(t, s, "/livez"); code != http.StatusOK {
		t.Errorf("live: %d", code)
	}
	st = &supervisor.Status{Phase: "stopping", Live: false}
	if code, _ := get(t, s, "/livez"); code != http.StatusServiceUnavailable {
		t.Errorf("given up: %d", code)
	}
}

func TestProbeURL(t *testing.T) {
	for addr, want := range map[string]string{
		":9180":          "http://127.0.0.1:9180/readyz",
		"0.0.0.0:9180":   "http://127.0.0.1:9180/readyz",
		"127.0.0.2:9180": "http://127.0.0.2:9180/readyz",
		"[::]:9180":      "http://127.0.0.1:9180/readyz",
	} {
		if got, err := ProbeURL(addr, "readyz"); err != nil || got != want {
			t.Errorf("ProbeURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
}

// Package health serves lnmp-init's probes and metrics over HTTP:
// /livez (is supervision working), /readyz (should traffic come here) and
// /metrics.
//
// Both probes answer from the supervisor's status alone, which the
// children's watches keep current (php-fpm is asked for a FastCGI answer
// every second): a probe never takes a php-fpm worker, never waits on a
// slow pool, and says what the lnmp_ready metric says.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/httpget"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// Server answers the probes from the supervisor's status.
type Server struct {
	// Status returns the supervisor's latest snapshot.
	Status func() *supervisor.Status
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	Log     *zap.Logger
}

// Handler routes the three endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", s.livez)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	return mux
}

// answer is the JSON body of both probes.
type answer struct {
	Status   string       `json:"status"`
	Phase    string       `json:"phase"`
	Reasons  []string     `json:"reasons,omitempty"`
	Children []childState `json:"children,omitempty"`
}

// childState is one child in a probe's body.
type childState struct {
	Name     string `json:"name"`
	State    string `json:"state"` // running, starting, not answering, hung, stopped
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	Program  bool   `json:"program,omitempty"`
}

// children describes every child of st.
func children(st *supervisor.Status) []childState {
	var out []childState
	for _, c := range st.Children {
		state := "running"
		switch {
		case c.Hung:
			state = "hung"
		case !c.Running:
			state = "stopped"
		case c.Unanswering:
			state = "not answering"
		case !c.Ready && !c.Program:
			state = "starting"
		}
		out = append(out, childState{Name: c.Name, State: state, Pid: c.Pid, Restarts: c.Restarts, Program: c.Program})
	}
	return out
}

func (s *Server) livez(w http.ResponseWriter, _ *http.Request) {
	st := s.Status()
	if st.Live {
		reply(w, http.StatusOK, answer{Status: "live", Phase: st.Phase, Children: children(st)})
		return
	}
	var reasons []string
	for _, c := range st.Children {
		if c.Hung {
			reasons = append(reasons, c.Name+" is hung; restarting it")
		}
	}
	if len(reasons) == 0 {
		reasons = []string{"supervision has given up or ended: phase " + st.Phase}
	}
	reply(w, http.StatusServiceUnavailable, answer{Status: "not live", Phase: st.Phase, Reasons: reasons, Children: children(st)})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	st := s.Status()
	if reasons := notReady(st); len(reasons) > 0 || !st.Ready {
		reply(w, http.StatusServiceUnavailable, answer{Status: "not ready", Phase: st.Phase, Reasons: reasons, Children: children(st)})
		return
	}
	reply(w, http.StatusOK, answer{Status: "ready", Phase: st.Phase, Children: children(st)})
}

// notReady lists what the status says against readiness.
func notReady(st *supervisor.Status) []string {
	var reasons []string
	switch {
	case st.Draining:
		reasons = append(reasons, "stopping: phase "+st.Phase)
	case st.Phase == "starting" || st.Phase == "pre-start":
		reasons = append(reasons, st.Phase)
	}
	for _, c := range st.Children {
		switch {
		case c.Program: // no part in readiness
		case !c.Running:
			reasons = append(reasons, c.Name+" is not running")
		case c.Unanswering:
			reasons = append(reasons, c.Name+" does not answer")
		case !c.Ready:
			reasons = append(reasons, c.Name+" is starting or restarting")
		}
	}
	return reasons
}

func reply(w http.ResponseWriter, code int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}

// Listen opens addr now, so a taken port is an error at start, not a
// silent failure of every probe later.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err // "bind: address already in use", without the address again
		}
		return nil, fmt.Errorf("cannot listen for probes on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) {
	if err := newHTTP1(s.Handler()).serve(ctx, ln); err != nil {
		s.Log.Error("probe listener failed", zap.Error(err))
	}
}

// ProbeURL is the URL `lnmp-init probe` asks for endpoint ("livez" or
// "readyz") of a listener on addr: a wildcard host is asked on loopback.
func ProbeURL(addr, endpoint string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/" + endpoint, nil
}

// Ask GETs url (as ProbeURL makes it) within ctx and returns the status
// code and up to 4 KiB of the body, for `lnmp-init probe`.
func Ask(ctx context.Context, url string) (int, []byte, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return 0, nil, err
	}
	r, err := httpget.Get(ctx, "tcp", u.Host, u.Host, u.RequestURI(), 4096)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return r.Status, r.Body, nil
}

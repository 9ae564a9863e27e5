// Package health serves lnmp-init's probes and metrics over HTTP:
// /livez (is supervision working), /readyz (should traffic come here) and
// /metrics.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"time"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/httpget"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// pingTimeout bounds the FastCGI ping of all pools for one /readyz: under
// the kubelet's default probe timeout of 1 s, so a slow pool answers 503
// with a reason rather than a probe timeout.
const pingTimeout = 900 * time.Millisecond

// Pinger asks one php-fpm pool to answer a real request.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server answers the probes from the supervisor's status and php-fpm's
// answers.
type Server struct {
	// Status returns the supervisor's latest snapshot.
	Status func() *supervisor.Status
	// Pools returns the php-fpm pools /readyz pings once everything else
	// says ready: the ones of the config in force, which a reload may change.
	Pools func() []Pinger
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
	Status  string   `json:"status"`
	Phase   string   `json:"phase"`
	Reasons []string `json:"reasons,omitempty"`
}

func (s *Server) livez(w http.ResponseWriter, _ *http.Request) {
	st := s.Status()
	if st.Live {
		reply(w, http.StatusOK, answer{Status: "live", Phase: st.Phase})
		return
	}
	reply(w, http.StatusServiceUnavailable, answer{Status: "not live", Phase: st.Phase,
		Reasons: []string{"supervision has given up or ended: phase " + st.Phase}})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.Status()
	reasons := notReady(st)
	if len(reasons) == 0 {
		ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
		defer cancel()
		for _, p := range s.Pools() {
			if err := p.Ping(ctx); err != nil {
				reasons = append(reasons, "php-fpm does not answer: "+err.Error())
			}
		}
	}
	if len(reasons) > 0 {
		reply(w, http.StatusServiceUnavailable, answer{Status: "not ready", Phase: st.Phase, Reasons: reasons})
		return
	}
	reply(w, http.StatusOK, answer{Status: "ready", Phase: st.Phase})
}

// notReady lists what the status alone says against readiness.
func notReady(st *supervisor.Status) []string {
	var reasons []string
	switch {
	case st.Draining:
		reasons = append(reasons, "stopping: phase "+st.Phase)
	case st.Phase == "starting":
		reasons = append(reasons, "starting")
	}
	for _, c := range st.Children {
		switch {
		case !c.Running:
			reasons = append(reasons, c.Name+" is not running")
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
		return nil, fmt.Errorf("listen for probes on %s: %w", addr, err)
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

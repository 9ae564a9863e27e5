package phpfpm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lnmp-init/lnmp-init/fastcgi"
	"github.com/lnmp-init/lnmp-init/listen"
)

// Status is a pool's status page, as php-fpm serves it for ?json
// (sapi/fpm/fpm/fpm_status.c). The counters count from the master's start.
type Status struct {
	Pool               string `json:"pool"`
	ProcessManager     string `json:"process manager"`
	StartTime          int64  `json:"start time"`
	StartSince         int64  `json:"start since"`
	AcceptedConn       int64  `json:"accepted conn"`
	ListenQueue        int64  `json:"listen queue"`
	MaxListenQueue     int64  `json:"max listen queue"`
	ListenQueueLen     int64  `json:"listen queue len"`
	IdleProcesses      int64  `json:"idle processes"`
	ActiveProcesses    int64  `json:"active processes"`
	TotalProcesses     int64  `json:"total processes"`
	MaxActiveProcesses int64  `json:"max active processes"`
	MaxChildrenReached int64  `json:"max children reached"`
	SlowRequests       int64  `json:"slow requests"`
	// Processes is the process list, present only when asked for with full.
	Processes []Process `json:"processes"`
}

// Process is one worker in the full status. State is one of "Idle",
// "Reading headers", "Getting request information", "Running",
// "Finishing" or "Ending" (fpm_request.c).
type Process struct {
	PID               int64   `json:"pid"`
	State             string  `json:"state"`
	StartTime         int64   `json:"start time"`
	Requests          int64   `json:"requests"`
	RequestDuration   int64   `json:"request duration"` // microseconds
	LastRequestCPU    float64 `json:"last request cpu"` // percent
	LastRequestMemory int64   `json:"last request memory"`
}

// StateIdle is the state of a worker waiting for a request; every other
// state is busy with one.
const StateIdle = "Idle"

// StatusAddr is where the pool's status page is asked for: pm.status_listen
// when set (php-fpm 8 serves it there from a hidden pool of its own, so the
// request never waits for, or takes, a worker of this pool), else listen.
func (p Pool) StatusAddr() listen.Addr {
	if p.StatusListen.Network != "" {
		return p.StatusListen
	}
	return p.Listen
}

// StatusURI names the status page as hipages/php-fpm_exporter's scrape_uri
// label does: tcp://HOST:PORT/PATH, or unix://SOCKET;PATH.
func (p Pool) StatusURI() string {
	a := p.StatusAddr()
	if a.Network == "unix" {
		return "unix://" + a.Address + ";" + p.StatusPath
	}
	return "tcp://" + a.Address + p.StatusPath
}

// ReadStatus asks the pool for its status page over FastCGI, as JSON, with
// the process list when full. ctx bounds the exchange; without
// pm.status_listen the request waits for a free worker of the pool, which
// is what a saturated pool does not have.
func (p Pool) ReadStatus(ctx context.Context, full bool) (*Status, error) {
	if p.StatusPath == "" {
		return nil, fmt.Errorf("pool %s: no pm.status_path", p.Name)
	}
	query := "json"
	if full {
		query = "json&full"
	}
	a := p.StatusAddr()
	resp, err := fastcgi.Do(ctx, a.Network, a.Address, map[string]string{
		"REQUEST_METHOD":    "GET",
		"SCRIPT_NAME":       p.StatusPath,
		"SCRIPT_FILENAME":   p.StatusPath,
		"REQUEST_URI":       p.StatusPath + "?" + query,
		"QUERY_STRING":      query,
		"SERVER_PROTOCOL":   "HTTP/1.1",
		"GATEWAY_INTERFACE": "CGI/1.1",
		"REMOTE_ADDR":       "127.0.0.1",
		"SERVER_NAME":       "lnmp-init",
	})
	if err != nil {
		return nil, fmt.Errorf("pool %s status at %s: %w", p.Name, a, err)
	}
	st, err := ParseStatus(resp.Stdout)
	if err != nil {
		return nil, fmt.Errorf("pool %s status at %s%s: %w", p.Name, a, p.StatusPath, err)
	}
	return st, nil
}

// ParseStatus reads a status answer: CGI headers, a blank line, the JSON
// body. A Status header other than 200 (a path php-fpm does not know is
// answered by the script lookup, "File not found.") is an error.
func ParseStatus(cgi []byte) (*Status, error) {
	head, body, ok := bytes.Cut(cgi, []byte("\r\n\r\n"))
	if !ok {
		return nil, errors.New("no end of headers in the answer")
	}
	for line := range strings.SplitSeq(string(head), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(name, "Status") && !strings.HasPrefix(strings.TrimSpace(value), "200") {
			return nil, fmt.Errorf("answered %q, not the status page: is pm.status_path right?", strings.TrimSpace(value))
		}
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("status JSON: %w", err)
	}
	if st.Pool == "" {
		return nil, fmt.Errorf("status JSON without a pool name: %.80q", body)
	}
	return &st, nil
}

// Counts returns the busy, idle and total workers. From the process list,
// when the status has one, since php-fpm updates the summary's counts in
// its once-a-second maintenance (and counts a newly forked worker only
// then), while each worker updates its own entry as a request starts
// (hipages/php-fpm_exporter#6); else from the summary.
func (s *Status) Counts() (active, idle, total int64) {
	if len(s.Processes) == 0 {
		return s.ActiveProcesses, s.IdleProcesses, s.TotalProcesses
	}
	for _, p := range s.Processes {
		if p.State == StateIdle {
			idle++
		} else {
			active++
		}
	}
	return active, idle, active + idle
}

package nginx

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/lnmp-init/lnmp-init/httpget"
	"github.com/lnmp-init/lnmp-init/listen"
)

// StubStatus is a location that serves ngx_http_stub_status_module's page.
type StubStatus struct {
	Addr  listen.Addr // Where to connect: the server's listen address, wildcards as loopback.
	Path  string      // The location's path.
	Host  string      // The Host to ask for: the server's first plain server_name, else "localhost".
	Where string      // file:line of the stub_status directive.
}

// URL names the page for messages and labels.
func (s *StubStatus) URL() string {
	if s.Addr.Network == "unix" {
		return "http://unix:" + s.Addr.Address + ":" + s.Path
	}
	return "http://" + s.Addr.Address + s.Path
}

// findStubStatus returns the first location of an http server with a
// stub_status directive that can be asked over plain HTTP/1.1: an exact
// (=) or prefix location, on a listen without ssl, http2, quic or
// proxy_protocol. A server listening on loopback (or a unix socket) wins
// over one on every address, which wins over one on another address. nil
// when there is none.
func findStubStatus(top []directive, uid int) *StubStatus {
	var best *StubStatus
	bestRank := 3
	for _, module := range top {
		if module.name != "http" || !module.isBlock {
			continue
		}
		for _, srv := range module.block {
			if srv.name != "server" || !srv.isBlock {
				continue
			}
			path, where, ok := stubLocation(srv.block)
			if !ok {
				continue
			}
			addr, rank, ok := bestListen(srv, uid)
			if ok && rank < bestRank {
				best = &StubStatus{Addr: addr, Path: path, Host: serverName(srv), Where: where}
				bestRank = rank
			}
		}
	}
	return best
}

// stubLocation finds a location with stub_status among ds, nested
// locations included.
func stubLocation(ds []directive) (path, where string, ok bool) {
	for _, d := range ds {
		if d.name != "location" || !d.isBlock {
			continue
		}
		if i := slices.IndexFunc(d.block, func(x directive) bool { return x.name == "stub_status" }); i >= 0 {
			switch {
			case len(d.args) == 1 && !strings.HasPrefix(d.args[0], "@"):
				return d.args[0], d.block[i].where(), true
			case len(d.args) == 2 && (d.args[0] == "=" || d.args[0] == "^~"):
				return d.args[1], d.block[i].where(), true
			}
			// A regular expression or named location: no path to ask for.
		}
		if path, where, ok = stubLocation(d.block); ok {
			return path, where, true
		}
	}
	return "", "", false
}

// bestListen picks the server's address to ask, and ranks it: 0 for
// loopback or a unix socket, 1 for every address, 2 for another address.
func bestListen(srv directive, uid int) (listen.Addr, int, bool) {
	best, bestRank, found, hasListen := listen.Addr{}, 3, false, false
	for _, d := range srv.block {
		if d.name != "listen" || d.isBlock || len(d.args) == 0 {
			continue
		}
		hasListen = true
		if slices.ContainsFunc(d.args[1:], func(a string) bool {
			return slices.Contains([]string{"ssl", "http2", "quic", "proxy_protocol"}, a)
		}) {
			continue
		}
		a, ok, err := parseListen(d.args[0])
		if err != nil || !ok {
			continue
		}
		if r := listenRank(d.args[0]); r < bestRank {
			best, bestRank, found = a, r, true
		}
	}
	if !hasListen {
		return defaultListen(uid), 1, true
	}
	return best, bestRank, found
}

func listenRank(raw string) int {
	host := raw
	if h, _, err := net.SplitHostPort(raw); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	switch {
	case strings.HasPrefix(raw, "unix:"), host == "localhost", net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback():
		return 0
	case host == "*" || host == "" || host == "0.0.0.0" || host == "::" || strings.Trim(raw, "0123456789") == "":
		return 1
	}
	return 2
}

// serverName is the first server_name that is a plain name: not empty,
// "_", a wildcard or a regular expression.
func serverName(srv directive) string {
	for _, d := range srv.block {
		if d.name != "server_name" {
			continue
		}
		for _, n := range d.args {
			if n != "" && n != "_" && !strings.ContainsAny(n, "*~$") {
				return n
			}
		}
	}
	return "localhost"
}

// Activity is what stub_status reports: connections now, and counters
// since the master started.
type Activity struct {
	Active, Reading, Writing, Waiting int64
	Accepts, Handled, Requests        int64
}

// maxStubBody bounds what is read of an answer: the page is about 110 bytes.
const maxStubBody = 4096

// Read asks nginx for the page, over a connection of its own that ctx
// bounds, and parses it.
func (s *StubStatus) Read(ctx context.Context) (Activity, error) {
	resp, err := httpget.Get(ctx, s.Addr.Network, s.Addr.Address, s.Host, s.Path, maxStubBody)
	if err != nil {
		return Activity{}, fmt.Errorf("stub_status at %s: %w", s.URL(), err)
	}
	if resp.Status != 200 {
		return Activity{}, fmt.Errorf("stub_status at %s: status %d", s.URL(), resp.Status)
	}
	a, err := ParseStubStatus(resp.Body)
	if err != nil {
		return Activity{}, fmt.Errorf("stub_status at %s: %w", s.URL(), err)
	}
	return a, nil
}

// ParseStubStatus reads the page (ngx_http_stub_status_module.c):
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
//
// Spacing may vary; the words and their order may not.
func ParseStubStatus(body []byte) (Activity, error) {
	var a Activity
	words := strings.Fields(string(body))
	want := []string{"Active", "connections:", "", "server", "accepts", "handled", "requests", "", "", "",
		"Reading:", "", "Writing:", "", "Waiting:", ""}
	nums := []*int64{&a.Active, &a.Accepts, &a.Handled, &a.Requests, &a.Reading, &a.Writing, &a.Waiting}
	if len(words) != len(want) {
		return a, fmt.Errorf("not a stub_status page: %.80q", body)
	}
	n := 0
	for i, w := range want {
		if w != "" {
			if words[i] != w {
				return a, fmt.Errorf("not a stub_status page: %q where %q belongs", words[i], w)
			}
			continue
		}
		v, err := strconv.ParseInt(words[i], 10, 64)
		if err != nil || v < 0 {
			return a, fmt.Errorf("not a stub_status page: %q is not a count", words[i])
		}
		*nums[n] = v
		n++
	}
	return a, nil
}

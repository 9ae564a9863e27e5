package main

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"

	"go.uber.org/zap"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/metrics"
	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/stack"
)

// Where check suggests status endpoints when the configs have none: the
// first port from these up that no pool or server uses.
const (
	suggestStatusPort = 9001
	suggestStubPort   = 8081
	suggestStubPath   = "/stub_status"
	suggestFpmStatus  = "/fpm-status"
)

// serverCollectors are the collectors of php-fpm's pools and nginx's
// stub_status, for /metrics; none when the listener is off. It logs, once,
// each source that cannot be collected and what to add for it.
//
// Both read the config in force at each scrape, so a reload that adds a
// pool or moves the stub_status location is followed.
func serverCollectors(log *zap.Logger, set *settings, st *stack.Stack) []metrics.Collector {
	if set.HealthAddr == "" {
		return nil
	}
	var out []metrics.Collector
	if st.FPM != nil {
		add := statusSuggestions(st)
		for _, p := range st.FPM.Config().Pools {
			if p.StatusPath == "" {
				log.Warn("php-fpm pool has no pm.status_path: no phpfpm_* metrics from its status page",
					zap.String("pool", p.Name), zap.Strings("add", add[p.Name]), zap.String("to", p.Where))
			}
		}
		pools := func() []phpfpm.Pool { return st.FPM.Config().Pools }
		out = append(out, metrics.NewPoolCollector(pools, set.PhpfpmProcessMetrics, log))
	}
	if st.Nginx != nil {
		if st.Nginx.Config().StubStatus == nil {
			log.Info("nginx has no stub_status location: no nginx_* metrics; `lnmp-init check` prints a server block to add")
		}
		out = append(out, metrics.NewNginxCollector(func() *nginx.StubStatus { return st.Nginx.Config().StubStatus }, log))
	}
	return out
}

// printMetricsSources is check's account of where /metrics reads php-fpm
// and nginx from, with the lines to add where it cannot.
func printMetricsSources(w io.Writer, set *settings, st *stack.Stack) {
	if set.HealthAddr == "" {
		fmt.Fprintln(w, "\nMetrics: off (--health-addr is empty)")
		return
	}
	fmt.Fprintf(w, "\nMetrics on %s/metrics, read at each scrape:\n", set.HealthAddr)
	add := statusSuggestions(st)
	for _, p := range fpmPools(st) {
		size := fmt.Sprintf("pm %s, max_children %d", orUnset(p.PM), p.MaxChildren)
		switch {
		case p.StatusPath == "":
			fmt.Fprintf(w, "  pool %s (%s): NOTE: no pm.status_path, so no phpfpm_* status metrics; add to [%s] (%s):\n", p.Name, size, p.Name, p.Where)
			printIndented(w, add[p.Name])
		case p.StatusListen.Network == "":
			fmt.Fprintf(w, "  pool %s (%s): %s on the pool's own listen address\n", p.Name, size, p.StatusURI())
			fmt.Fprintf(w, "    NOTE: a scrape then takes one of the pool's workers, and gets phpfpm_up 0 while all are busy; add to [%s] (%s):\n", p.Name, p.Where)
			printIndented(w, add[p.Name][1:])
		default:
			fmt.Fprintf(w, "  pool %s (%s): %s (pm.status_listen)\n", p.Name, size, p.StatusURI())
		}
	}
	if st.Nginx == nil {
		return
	}
	if s := st.Nginx.Config().StubStatus; s != nil {
		fmt.Fprintf(w, "  nginx: %s (%s)\n", s.URL(), s.Where)
		return
	}
	fmt.Fprintln(w, "  nginx: NOTE: no stub_status location, so no nginx_* metrics; add inside http { }, reachable from loopback only:")
	printIndented(w, stubServer(st))
}

func printIndented(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(w, "      %s\n", l)
	}
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// statusSuggestions are the lines check suggests for each pool, by name:
// pm.status_path, then a pm.status_listen of its own, a socket beside a
// socket or a free loopback port.
func statusSuggestions(st *stack.Stack) map[string][]string {
	out := make(map[string][]string)
	port := suggestStatusPort
	for _, p := range fpmPools(st) {
		path := p.StatusPath
		if path == "" {
			path = suggestFpmStatus
		}
		var addr string
		if p.Listen.Network == "unix" {
			addr = filepath.Join(filepath.Dir(p.Listen.Address), p.Name+"-status.sock")
		} else {
			port = freePort(st, port)
			addr = "127.0.0.1:" + strconv.Itoa(port)
			port++
		}
		out[p.Name] = []string{"pm.status_path = " + path, "pm.status_listen = " + addr}
	}
	return out
}

// stubServer is a server block for nginx's http{} serving stub_status on
// loopback only.
func stubServer(st *stack.Stack) []string {
	return []string{
		"server {",
		"    listen 127.0.0.1:" + strconv.Itoa(freePort(st, suggestStubPort)) + ";",
		"    location = " + suggestStubPath + " {",
		"        stub_status;",
		"    }",
		"}",
	}
}

// freePort is the first port from start on that no pool, status listener
// or nginx server of the configs uses.
func freePort(st *stack.Stack, start int) int {
	var used []string
	add := func(a listen.Addr) {
		if a.Network == "tcp" {
			if _, port, err := net.SplitHostPort(a.Address); err == nil {
				used = append(used, port)
			}
		}
	}
	for _, p := range fpmPools(st) {
		add(p.Listen)
		add(p.StatusListen)
	}
	if st.Nginx != nil {
		for _, a := range st.Nginx.Config().Listens {
			add(a)
		}
	}
	port := start
	for slices.Contains(used, strconv.Itoa(port)) {
		port++
	}
	return port
}

// fpmPools are the pools of the config in force, none without php-fpm.
func fpmPools(st *stack.Stack) []phpfpm.Pool {
	if st.FPM == nil {
		return nil
	}
	return st.FPM.Config().Pools
}

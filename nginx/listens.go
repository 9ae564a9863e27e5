package nginx

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/lnmp-init/lnmp-init/listen"
)

// findListens returns every distinct address the server blocks of http{},
// stream{} and mail{} listen on, in the order they appear. uid is the user
// nginx runs as: an http server without listen gets port 80 as root and 8000
// otherwise (ngx_http_core_module; measured with nginx 1.22 as uid 33).
func findListens(top []directive, uid int) ([]listen.Addr, error) {
	var addrs []listen.Addr
	add := func(a listen.Addr) {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	for _, module := range top {
		if !module.isBlock || !slices.Contains([]string{"http", "stream", "mail"}, module.name) {
			continue
		}
		for _, srv := range module.block {
			if srv.name != "server" || !srv.isBlock {
				continue
			}
			found, hasListen, err := serverListens(srv)
			if err != nil {
				return nil, err
			}
			for _, a := range found {
				add(a)
			}
			if !hasListen && module.name == "http" {
				add(defaultListen(uid))
			}
		}
	}
	return addrs, nil
}

// defaultListen is where an http server with no listen directive listens.
func defaultListen(uid int) listen.Addr {
	port := "8000"
	if uid == 0 {
		port = "80"
	}
	return listen.Addr{Network: "tcp", Address: net.JoinHostPort("127.0.0.1", port)}
}

// serverListens returns the dialable addresses of one server block, and
// whether it has any listen directive at all.
func serverListens(srv directive) ([]listen.Addr, bool, error) {
	var addrs []listen.Addr
	hasListen := false
	for _, d := range srv.block {
		if d.name != "listen" || d.isBlock {
			continue
		}
		hasListen = true
		if len(d.args) == 0 {
			return nil, false, fmt.Errorf(`invalid number of arguments in "listen" directive in %s`, d.where())
		}
		// A TCP dial cannot tell whether a UDP socket (stream's udp, http's
		// quic) is ready, so those are not checked.
		if slices.Contains(d.args[1:], "udp") || slices.Contains(d.args[1:], "quic") {
			continue
		}
		a, ok, err := parseListen(d.args[0])
		if err != nil {
			return nil, false, fmt.Errorf(`"listen" directive in %s: %w`, d.where(), err)
		}
		if ok {
			addrs = append(addrs, a)
		}
	}
	return addrs, hasListen, nil
}

// parseListen turns a listen address ("8080", "*:8080", "[::]:80",
// "127.0.0.2", "localhost:8080", "unix:/run/x.sock") into an address to
// dial. An address without a port means port 80, as in nginx. It returns
// false for addresses holding a variable, which nginx does not expand there.
func parseListen(value string) (listen.Addr, bool, error) {
	if strings.Contains(value, "$") {
		return listen.Addr{}, false, nil
	}
	if path, ok := strings.CutPrefix(value, "unix:"); ok {
		if path == "" {
			return listen.Addr{}, false, fmt.Errorf("listen address %q: no socket path", value)
		}
		return listen.Addr{Network: "unix", Address: path}, true, nil
	}
	if !hasPort(value) {
		value = net.JoinHostPort(strings.Trim(value, "[]"), "80")
	}
	a, err := listen.ParseTCP(value)
	if err != nil {
		return listen.Addr{}, false, err
	}
	return a, true, nil
}

// hasPort reports whether a listen address names a port: it is a bare port,
// or a host followed by ":port". IPv6 hosts are in brackets, so their colons
// do not count.
func hasPort(value string) bool {
	if value != "" && strings.Trim(value, "0123456789") == "" {
		return true
	}
	if strings.HasPrefix(value, "[") {
		return strings.Contains(value, "]:")
	}
	return strings.Contains(value, ":")
}

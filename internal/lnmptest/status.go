package lnmptest

import (
	"fmt"
	"net"
	"slices"
	"strconv"
)

// ExtraPool is a php-fpm pool added to a sandbox beside its www pool, with an
// nginx server of its own in front.
type ExtraPool struct {
	Name         string
	Listen       string // php-fpm's listen, 127.0.0.1:PORT
	StatusListen string // pm.status_listen, 127.0.0.1:PORT
	httpPort     int
}

// URL returns the address of path on the nginx server that passes PHP to
// this pool.
func (p *ExtraPool) URL(path string) string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(p.httpPort)) + path
}

// AddDynamicPool writes fpm.d/NAME.conf, a pool with pm = dynamic (one
// worker at start, at most maxChildren), its status page on
// pm.status_listen, and conf.d/NAME.conf, a loopback nginx server that
// passes PHP to it. Call it before the sandbox starts, or reload.
func (s *Sandbox) AddDynamicPool(name string, maxChildren int) (*ExtraPool, error) {
	ports, err := s.morePorts(3)
	if err != nil {
		return nil, err
	}
	p := &ExtraPool{Name: name, Listen: "127.0.0.1:" + strconv.Itoa(ports[0]), StatusListen: "127.0.0.1:" + strconv.Itoa(ports[1]), httpPort: ports[2]}
	pool := fmt.Sprintf(`[%s]
listen = %s
user = www-data
group = www-data
pm = dynamic
pm.max_children = %d
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = 1
pm.status_path = /status
pm.status_listen = %s
`, name, p.Listen, maxChildren, p.StatusListen)
	server := fmt.Sprintf(`server {
    listen 127.0.0.1:%d;
    root %s;
    location ~ \.php$ {
        fastcgi_pass %s;
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_read_timeout 60s;
    }
}
`, p.httpPort, s.AppDir(), p.Listen)
	if err := s.SetFpmD(name+".conf", pool); err != nil {
		return nil, err
	}
	if err := s.SetConfD(name+".conf", server); err != nil {
		return nil, err
	}
	return p, nil
}

// AddStubStatus writes conf.d/stub-status.conf, a loopback nginx server
// with a stub_status location, and returns the page's URL.
func (s *Sandbox) AddStubStatus() (string, error) {
	ports, err := s.morePorts(1)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	conf := fmt.Sprintf("server {\n    listen %s;\n    location = /stub_status {\n        stub_status;\n    }\n}\n", addr)
	if err := s.SetConfD("stub-status.conf", conf); err != nil {
		return "", err
	}
	return "http://" + addr + "/stub_status", nil
}

// morePorts picks n free ports that differ from the sandbox's own and
// those it picked before, which are free too until the servers start. Not
// safe for concurrent use.
func (s *Sandbox) morePorts(n int) ([]int, error) {
	for {
		ports, err := freePorts(n + 2)
		if err != nil {
			return nil, err
		}
		var out []int
		for _, p := range ports {
			if p != s.httpPort && p != s.fpmPort && !slices.Contains(s.more, p) && len(out) < n {
				out = append(out, p)
			}
		}
		if len(out) == n {
			s.more = append(s.more, out...)
			return out, nil
		}
	}
}

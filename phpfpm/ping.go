package phpfpm

import (
	"bytes"
	"context"
	"fmt"

	"github.com/lnmp-init/lnmp-init/fastcgi"
)

// probeScript is what Ping asks a pool without ping.path for. It does not
// exist: a worker answers "File not found." with status 404, which proves
// the pool takes requests without running any of the application's code.
const probeScript = "/lnmp-init-readiness-probe.php"

// Ping sends the pool one real FastCGI request and reports whether a worker
// answered it. With ping.path set, the answer must hold ping.response (php-fpm
// answers that path itself, before looking for a script); otherwise any
// complete FastCGI answer counts.
func (p Pool) Ping(ctx context.Context) error {
	path := p.PingPath
	if path == "" {
		path = probeScript
	}
	resp, err := fastcgi.Do(ctx, p.Listen.Network, p.Listen.Address, map[string]string{
		"REQUEST_METHOD":    "GET",
		"SCRIPT_NAME":       path,
		"SCRIPT_FILENAME":   path,
		"REQUEST_URI":       path,
		"QUERY_STRING":      "",
		"SERVER_PROTOCOL":   "HTTP/1.1",
		"GATEWAY_INTERFACE": "CGI/1.1",
		"REMOTE_ADDR":       "127.0.0.1",
		"SERVER_NAME":       "lnmp-init",
	})
	if err != nil {
		return fmt.Errorf("pool %s at %s: %w", p.Name, p.Listen, err)
	}
	if p.PingPath != "" {
		if _, body, ok := bytes.Cut(resp.Stdout, []byte("\r\n\r\n")); !ok || !bytes.Contains(body, []byte(p.PingResponse)) {
			return fmt.Errorf("pool %s at %s: %s answered %q, want %q", p.Name, p.Listen, p.PingPath, resp.Stdout, p.PingResponse)
		}
	}
	return nil
}

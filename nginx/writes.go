package nginx

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
)

// writtenBy names the directives whose first argument is a path nginx -t
// creates when it is missing, with the configure option that gives its
// compiled-in default.
var writtenBy = map[string]string{
	"pid":                   "--pid-path",
	"error_log":             "--error-log-path",
	"access_log":            "--http-log-path",
	"client_body_temp_path": "--http-client-body-temp-path",
	"fastcgi_temp_path":     "--http-fastcgi-temp-path",
	"proxy_temp_path":       "--http-proxy-temp-path",
	"scgi_temp_path":        "--http-scgi-temp-path",
	"uwsgi_temp_path":       "--http-uwsgi-temp-path",
}

// TestWrites lists the files and directories `nginx -t` may create for
// this config: its pid file, logs and temp directories, as the config
// names them, or the binary's compiled-in defaults for those it does not
// set. `lnmp-init check` removes those that were not there before, so that
// a check run as root leaves nothing behind that a later non-root start
// could not open. run runs `nginx -V`; paths that are not absolute (a
// relative one resolves against nginx's prefix), stderr, syslog and
// /dev/... are left out.
func (c *Config) TestWrites(ctx context.Context, run Runner, bin string) []string {
	set := map[string]bool{}
	var paths []string
	add := func(p string) {
		if filepath.IsAbs(p) && !strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "/proc/") {
			paths = append(paths, filepath.Clean(p))
		}
	}
	var walk func([]directive)
	walk = func(ds []directive) {
		for _, d := range ds {
			if _, ok := writtenBy[d.name]; ok && len(d.args) > 0 {
				set[d.name] = true
				add(d.args[0])
			}
			walk(d.block)
		}
	}
	walk(c.tree)
	out, _ := run(ctx, exec.Command(bin, "-V")) // no defaults without it
	for _, f := range strings.Fields(string(out)) {
		opt, value, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		for name, o := range writtenBy {
			if o == opt && !set[name] {
				add(value)
			}
		}
	}
	return paths
}

package nginx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/configfile"
	"github.com/lnmp-init/lnmp-init/listen"
)

// DefaultConfig is the main configuration file nginx reads when given no -c,
// on Debian and in the official images alike.
const DefaultConfig = "/etc/nginx/nginx.conf"

// Config is what lnmp-init needs to know from an nginx configuration.
type Config struct {
	// Path is the main file as given to Load.
	Path string
	// AbsPath is Path made absolute against the working directory of Load.
	// Args passes this one, because nginx resolves a relative -c against its
	// compiled prefix (/usr/share/nginx on Debian), not its working directory.
	AbsPath string
	// Files lists every file read, absolute, each once, in the order nginx
	// first reads them: the main file first, then each included file.
	Files []string
	// Includes lists each include pattern once, absolute. Relative patterns
	// resolve against the main file's directory, as nginx's conf prefix does
	// under -c, also when they appear in an included file elsewhere.
	Includes []string
	// SetsDaemon is true when a top-level daemon directive exists. Then
	// -g "daemon off;" must not be passed: nginx refuses the duplicate.
	SetsDaemon bool
	// DaemonOn is true when the config says "daemon on;": the master would
	// fork away from lnmp-init, which then could not supervise it.
	DaemonOn bool
	// User and Group are the top-level user directive ("user www-data
	// [group];"), "" when unset: whom the workers run as when the master
	// runs as root.
	User, Group string
	// PidFile is the top-level pid directive as written, "" when unset.
	// nginx -t creates this file empty when it does not exist.
	PidFile string
	// WorkerShutdownTimeout is the top-level worker_shutdown_timeout, 0 when
	// unset or set to 0; both mean a graceful stop has no bound.
	WorkerShutdownTimeout time.Duration
	// FastCGIWait is the longest fastcgi_read_timeout where the config
	// passes requests to FastCGI (60s, nginx's default, where none is
	// set): past it, nginx has given up on every request it sent php-fpm.
	FastCGIWait time.Duration
	// Listens holds every distinct address the server blocks of http{},
	// stream{} and mail{} listen on, as addresses to dial: wildcards become
	// loopback, hostnames stay as written, UDP listeners and addresses with
	// variables are left out. An http server with no listen directive listens
	// on port 80 when nginx runs as root and 8000 otherwise, and is recorded
	// as such.
	Listens []listen.Addr
	// Text is the whole config in one file that means what the files mean
	// (see render): what lnmp-init keeps as the last config that worked.
	Text []byte
	// tree is the config as read, includes inlined.
	tree []directive
	// StubStatus is the location that serves stub_status, preferring one
	// on loopback; nil when there is none (see findStubStatus).
	StubStatus *StubStatus
}

// Load reads the nginx configuration at path and every file it includes,
// with nginx's own syntax: directives end with ';', blocks are in braces,
// '#' starts a comment where a word could start, words may be quoted with
// backslash escapes, and include directives (globs too, also inside blocks)
// are followed recursively. Errors name the file and line. Load assumes
// nginx will run with the caller's user ID, which decides the default port.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("nginx config %s: %w", path, err)
	}
	src, err := configfile.Read(abs)
	if err != nil {
		return nil, fmt.Errorf("nginx config: %w", err)
	}
	ld := &loader{prefix: filepath.Dir(abs) + string(filepath.Separator)}
	top, err := ld.parseFile(abs, src, 0)
	if err != nil {
		return nil, fmt.Errorf("nginx config: %w", err)
	}
	cfg := &Config{Path: path, AbsPath: abs, Files: ld.files, Includes: ld.includes, Text: render(top, filepath.Dir(abs)), tree: top}
	if err := cfg.readMain(top); err != nil {
		return nil, fmt.Errorf("nginx config: %w", err)
	}
	if cfg.Listens, err = findListens(top, os.Getuid()); err != nil {
		return nil, fmt.Errorf("nginx config: %w", err)
	}
	cfg.StubStatus = findStubStatus(top, os.Getuid())
	cfg.FastCGIWait = fastcgiWait(top)
	return cfg, nil
}

// DefaultFastCGIReadTimeout is nginx's fastcgi_read_timeout when none is
// set.
const DefaultFastCGIReadTimeout = 60 * time.Second

// fastcgiWait is the longest fastcgi_read_timeout in force where a
// fastcgi_pass is (inherited from the enclosing blocks as nginx does, its
// default where none is set), or the default without any fastcgi_pass:
// how long nginx waits for php-fpm to answer a request it has sent
// before it gives up with a 504.
func fastcgiWait(ds []directive) time.Duration {
	longest := time.Duration(0)
	var walk func([]directive, time.Duration)
	walk = func(ds []directive, inherited time.Duration) {
		here := inherited
		for _, d := range ds {
			if d.name == "fastcgi_read_timeout" && len(d.args) == 1 {
				if t, err := parseTime(d.args[0]); err == nil {
					here = t
				}
			}
		}
		for _, d := range ds {
			if d.name == "fastcgi_pass" {
				longest = max(longest, here)
			}
			if d.isBlock {
				walk(d.block, here)
			}
		}
	}
	walk(ds, DefaultFastCGIReadTimeout)
	if longest == 0 {
		return DefaultFastCGIReadTimeout
	}
	return longest
}

// readMain reads the top-level directives lnmp-init cares about. Like nginx,
// it refuses duplicates, so there is never a question of which one wins.
func (c *Config) readMain(top []directive) error {
	seen := make(map[string]bool)
	for _, d := range top {
		var set func(string) error
		switch d.name {
		case "daemon":
			set = c.setDaemon
		case "pid":
			set = func(v string) error { c.PidFile = v; return nil }
		case "user": // nginx -t judges the arguments
			if len(d.args) > 0 {
				c.User = d.args[0]
			}
			if len(d.args) > 1 {
				c.Group = d.args[1]
			}
			continue
		case "worker_shutdown_timeout":
			set = func(v string) (err error) { c.WorkerShutdownTimeout, err = parseTime(v); return err }
		default:
			continue
		}
		if seen[d.name] {
			return fmt.Errorf(`"%s" directive is duplicate in %s`, d.name, d.where())
		}
		seen[d.name] = true
		if d.isBlock || len(d.args) != 1 {
			return fmt.Errorf(`invalid number of arguments in "%s" directive in %s`, d.name, d.where())
		}
		if err := set(d.args[0]); err != nil {
			return fmt.Errorf(`"%s" directive in %s: %w`, d.name, d.where(), err)
		}
	}
	return nil
}

// setDaemon reads the daemon flag, case-insensitively like nginx.
func (c *Config) setDaemon(v string) error {
	c.SetsDaemon = true
	switch {
	case strings.EqualFold(v, "on"):
		c.DaemonOn = true
	case strings.EqualFold(v, "off"):
		c.DaemonOn = false
	default:
		return fmt.Errorf(`invalid value %q, it must be "on" or "off"`, v)
	}
	return nil
}

package lnmptest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wwwDataUID is the uid the sandbox must stay usable by: nginx and php-fpm
// workers run as www-data under a root master, and whole runs go through
// setpriv --reuid=33.
const wwwDataUID = 33

// maxSocketPath is sun_path's size minus its terminating NUL.
const maxSocketPath = 107

// Options shapes a Sandbox. The zero value is the default setup.
type Options struct {
	// Workers is the pool's pm.max_children (pm = static). Zero means 20.
	Workers int
	// ProcessControlTimeout is php-fpm's process_control_timeout, how long
	// a graceful stop lets requests run. Zero means 20s; a negative value
	// writes 0, php-fpm's own default, under which SIGQUIT cuts requests.
	ProcessControlTimeout time.Duration
	// UnixSocket makes php-fpm listen on DIR/php-fpm.sock instead of a
	// loopback TCP port.
	UnixSocket bool
	// AtomicConfig writes conf.d and fpm.d with WriteAtomic, as a
	// Kubernetes ConfigMap volume looks, so every later change is the
	// kubelet's ..data swap rather than a plain rename.
	AtomicConfig bool
	// FastCGIReadTimeout is nginx's fastcgi_read_timeout for PHP, how
	// long nginx waits for php-fpm's answer. Zero means 60s.
	FastCGIReadTimeout time.Duration
}

// Sandbox is a self-contained nginx + php-fpm setup in one directory, on
// free loopback ports. Every path it writes is usable by uid 33.
type Sandbox struct {
	dir      string
	opts     Options
	httpPort int
	fpmPort  int   // zero with Options.UnixSocket
	more     []int // ports handed out by morePorts

	mu    sync.Mutex // guards the two maps, which are the source of the conf dirs
	confD map[string]string
	fpmD  map[string]string
}

// NewSandbox writes the setup into dir, creating it if needed. dir's
// ancestors must be searchable by uid 33 (t.TempDir's are not: use
// os.MkdirTemp under /tmp, or TestSandbox).
func NewSandbox(dir string, opts Options) (*Sandbox, error) {
	if opts.Workers <= 0 {
		opts.Workers = 20
	}
	if opts.ProcessControlTimeout == 0 {
		opts.ProcessControlTimeout = 20 * time.Second
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox dir: %w", err)
	}
	s := &Sandbox{dir: dir, opts: opts}
	if opts.UnixSocket && len(s.FPMAddr()) > maxSocketPath {
		return nil, fmt.Errorf("sandbox dir %s: socket path %s is longer than %d bytes", dir, s.FPMAddr(), maxSocketPath)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s.httpPort = ports[0]
	if !opts.UnixSocket {
		s.fpmPort = ports[1]
	}
	if err := s.write(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) write() error {
	for _, d := range []string{s.dir, s.AppDir(), filepath.Join(s.dir, "tmp"), s.ConfD(), s.FpmD()} {
		if err := mkdirShared(d); err != nil {
			return err
		}
	}
	if err := searchableByWWWData(s.dir); err != nil {
		return err
	}
	fastcgiPass := s.FPMAddr()
	if s.opts.UnixSocket {
		fastcgiPass = "unix:" + fastcgiPass
	}
	files := map[string]string{
		s.FpmConf():   phpFpmConf(s.dir, s.opts.ProcessControlTimeout),
		s.NginxConf(): nginxConf(s.dir, s.httpPort, fastcgiPass, s.opts.FastCGIReadTimeout),
	}
	pages := map[string]string{"index.php": indexPHP, "slow.php": slowPHP, "orphan.php": orphanPHP,
		"env.php": envPHP, "pid.php": pidPHP}
	for name, text := range pages {
		files[filepath.Join(s.AppDir(), name)] = text
	}
	for path, text := range files {
		if err := writeShared(path, text); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confD = map[string]string{"headers.conf": headersConf(1)}
	s.fpmD = map[string]string{"www.conf": wwwConf(s.FPMAddr(), s.opts.UnixSocket, s.opts.Workers, 1)}
	if err := s.syncDir(s.ConfD(), s.confD, ""); err != nil {
		return err
	}
	return s.syncDir(s.FpmD(), s.fpmD, "")
}

// Dir returns the sandbox directory.
func (s *Sandbox) Dir() string { return s.dir }

// FPMAddr returns php-fpm's listen value: 127.0.0.1:PORT or a socket path.
func (s *Sandbox) FPMAddr() string {
	if s.opts.UnixSocket {
		return filepath.Join(s.dir, "php-fpm.sock")
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.fpmPort))
}

// URL returns the address of path on the sandbox's nginx.
func (s *Sandbox) URL(path string) string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort)) + path
}

// NginxConf returns the path to pass to nginx -c.
func (s *Sandbox) NginxConf() string { return filepath.Join(s.dir, "nginx.conf") }

// FpmConf returns the path to pass to php-fpm -y.
func (s *Sandbox) FpmConf() string { return filepath.Join(s.dir, "php-fpm.conf") }

// ConfD returns the directory nginx includes *.conf from at http level.
func (s *Sandbox) ConfD() string { return filepath.Join(s.dir, "conf.d") }

// FpmD returns the directory php-fpm includes *.conf (the pools) from.
func (s *Sandbox) FpmD() string { return filepath.Join(s.dir, "fpm.d") }

// AppDir returns nginx's document root, which holds the PHP pages.
func (s *Sandbox) AppDir() string { return filepath.Join(s.dir, "app") }

// NginxPidFile returns the pid file nginx.conf names.
func (s *Sandbox) NginxPidFile() string { return filepath.Join(s.dir, "nginx.pid") }

// FpmPidFile returns the pid file php-fpm.conf names.
func (s *Sandbox) FpmPidFile() string { return filepath.Join(s.dir, "php-fpm.pid") }

// SetHeaderVersion rewrites conf.d/headers.conf so responses carry
// X-Config-Version: n once nginx reloads.
func (s *Sandbox) SetHeaderVersion(n int) error {
	return s.SetConfD("headers.conf", headersConf(n))
}

// SetFpmEnvVersion rewrites the pool so env.php prints n once php-fpm
// reloads.
func (s *Sandbox) SetFpmEnvVersion(n int) error {
	return s.SetFpmD("www.conf", wwwConf(s.FPMAddr(), s.opts.UnixSocket, s.opts.Workers, n))
}

// SetConfD writes conf.d/name, or removes it when content is empty; a test
// uses it to break nginx's config on purpose.
func (s *Sandbox) SetConfD(name, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setFile(s.ConfD(), s.confD, name, content)
}

// SetFpmD writes fpm.d/name, or removes it when content is empty.
func (s *Sandbox) SetFpmD(name, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setFile(s.FpmD(), s.fpmD, name, content)
}

// WriteApp writes app/name, for pages a single test needs.
func (s *Sandbox) WriteApp(name, content string) error {
	return writeShared(filepath.Join(s.AppDir(), name), content)
}

func (s *Sandbox) setFile(dir string, files map[string]string, name, content string) error {
	if name == "" || filepath.Base(name) != name || name[0] == '.' {
		return fmt.Errorf("config file name %q: must be a plain file name", name)
	}
	if content == "" {
		delete(files, name)
	} else {
		files[name] = content
	}
	return s.syncDir(dir, files, name)
}

// syncDir makes dir match files. Without AtomicConfig only the changed name
// is touched, by rename, so a reload never reads half a file.
func (s *Sandbox) syncDir(dir string, files map[string]string, changed string) error {
	if s.opts.AtomicConfig {
		return WriteAtomic(dir, files)
	}
	if changed == "" {
		for name, text := range files {
			if err := writeShared(filepath.Join(dir, name), text); err != nil {
				return err
			}
		}
		return nil
	}
	text, ok := files[changed]
	if !ok {
		if err := os.Remove(filepath.Join(dir, changed)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove config: %w", err)
		}
		return nil
	}
	return writeShared(filepath.Join(dir, changed), text)
}

// freePorts holds every listener until all are chosen, so the n ports differ.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FpmBusy returns how many php-fpm workers are serving requests, not
// counting the status request it makes through nginx; poll it to know that
// requests started by Fire are really in flight.
func (s *Sandbox) FpmBusy(timeout time.Duration) (int, error) {
	r := Fetch(s.URL("/fpm-status"), timeout)
	if r.Err != nil {
		return 0, r.Err
	}
	if r.Status != 200 {
		return 0, fmt.Errorf("GET /fpm-status: status %d", r.Status)
	}
	for _, line := range strings.Split(r.Body, "\n") {
		if v, ok := strings.CutPrefix(line, "active processes:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return 0, fmt.Errorf("GET /fpm-status: %q: %w", line, err)
			}
			return n - 1, nil
		}
	}
	return 0, fmt.Errorf("GET /fpm-status: no active processes line in %q", r.Body)
}

// HTTPPort returns nginx's port on 127.0.0.1.
func (s *Sandbox) HTTPPort() int { return s.httpPort }

// FPMPort returns php-fpm's port on 127.0.0.1, or 0 with a unix socket.
func (s *Sandbox) FPMPort() int { return s.fpmPort }

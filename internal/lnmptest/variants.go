package lnmptest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pages for the fault tests, written by WriteFaultPages.
const (
	// iniPHP prints the memory_limit in force, which a php.ini in IniDir
	// sets.
	iniPHP = `<?php
echo ini_get('memory_limit') . "\n";
`
	// setsidPHP leaves a background sleep in a session of its own, out of
	// php-fpm's process group, holding what the worker leaves open across
	// exec: the pool's listening socket among them.
	setsidPHP = `<?php
$s = isset($_GET['s']) && is_numeric($_GET['s']) ? $_GET['s'] : '300';
exec("setsid sleep " . escapeshellarg($s) . " > /dev/null 2>&1 &");
echo "detached\n";
`
	// forkPHP starts n background processes at once, each gone at once:
	// orphans for PID 1 to reap.
	forkPHP = `<?php
$n = isset($_GET['n']) ? max(1, (int) $_GET['n']) : 100;
exec("i=0; while [ \$i -lt " . $n . " ]; do (true &) ; i=\$((i+1)); done");
echo "forked $n\n";
`
	// stubbornPHP leaves a background process that ignores SIGTERM and
	// SIGQUIT, in a session of its own, with its stdin off the socket.
	stubbornPHP = `<?php
$s = isset($_GET['s']) && is_numeric($_GET['s']) ? $_GET['s'] : '300';
exec("setsid sh -c 'trap \"\" TERM QUIT HUP; sleep " . $s . "' < /dev/null > /dev/null 2>&1 &");
echo "stubborn\n";
`
)

// WriteFaultPages adds ini.php, setsid.php, fork.php and stubborn.php to the
// app.
func (s *Sandbox) WriteFaultPages() error {
	for name, text := range map[string]string{"ini.php": iniPHP, "setsid.php": setsidPHP,
		"fork.php": forkPHP, "stubborn.php": stubbornPHP} {
		if err := s.WriteApp(name, text); err != nil {
			return err
		}
	}
	return nil
}

// IniDir is the directory IniEnv makes php-fpm scan for .ini files.
func (s *Sandbox) IniDir() string { return filepath.Join(s.dir, "php.d") }

// IniEnv returns the environment that makes php-fpm (and lnmp-init's
// php-fpm -i) scan IniDir instead of the distribution's conf.d, so a test
// changes PHP settings without touching the host's php.ini.
func (s *Sandbox) IniEnv() []string { return []string{"PHP_INI_SCAN_DIR=" + s.IniDir()} }

// SetIni writes IniDir/name (created if needed); empty content removes it.
func (s *Sandbox) SetIni(name, content string) error {
	if err := mkdirShared(s.IniDir()); err != nil {
		return err
	}
	p := filepath.Join(s.IniDir(), name)
	if content == "" {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	}
	return writeShared(p, content)
}

// Pool is a php-fpm pool for tests that need something else than the
// sandbox's static one.
type Pool struct {
	// Listen is the listen value; empty means the sandbox's FPMAddr. A
	// value starting with '/' is a unix socket, made mode 0666 unless Extra
	// sets listen.mode.
	Listen string
	// PM is static, dynamic or ondemand; empty means static.
	PM string
	// MaxChildren is pm.max_children; zero means Options.Workers.
	MaxChildren int
	// EnvVersion is what env.php prints.
	EnvVersion int
	// Extra lines go at the end of the pool.
	Extra string
}

// SetPool writes p as fpm.d/www.conf, the sandbox's pool.
func (s *Sandbox) SetPool(p Pool) error { return s.SetFpmD("www.conf", s.PoolText(p)) }

// PoolText is the text SetPool writes.
func (s *Sandbox) PoolText(p Pool) string {
	if p.Listen == "" {
		p.Listen = s.FPMAddr()
	}
	if p.PM == "" {
		p.PM = "static"
	}
	if p.MaxChildren == 0 {
		p.MaxChildren = s.opts.Workers
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[www]\nlisten = %s\n", p.Listen)
	if strings.HasPrefix(p.Listen, "/") && !strings.Contains(p.Extra, "listen.mode") {
		b.WriteString("listen.mode = 0666\n")
	}
	fmt.Fprintf(&b, "user = www-data\ngroup = www-data\npm = %s\npm.max_children = %d\n", p.PM, p.MaxChildren)
	switch p.PM {
	case "dynamic":
		b.WriteString("pm.start_servers = 1\npm.min_spare_servers = 1\npm.max_spare_servers = 1\n")
	case "ondemand":
		b.WriteString("pm.process_idle_timeout = 2s\n")
	}
	fmt.Fprintf(&b, "ping.path = /fpm-ping\npm.status_path = /fpm-status\ncatch_workers_output = yes\n"+
		"decorate_workers_output = no\nenv[CONFIG_VERSION] = %d\n", p.EnvVersion)
	if p.Extra != "" {
		b.WriteString(strings.TrimRight(p.Extra, "\n") + "\n")
	}
	return b.String()
}

// SetFpmGlobal rewrites php-fpm.conf's [global] section. pct replaces the
// process_control_timeout value when not empty ("-5", "20s"); extra lines
// go before the include, which must stay last.
func (s *Sandbox) SetFpmGlobal(pct, extra string) error {
	text := phpFpmConf(s.dir, s.opts.ProcessControlTimeout)
	if pct != "" {
		lines := strings.Split(text, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "process_control_timeout") {
				lines[i] = "process_control_timeout = " + pct
			}
		}
		text = strings.Join(lines, "\n")
	}
	if extra != "" {
		i := strings.Index(text, "include = ")
		text = text[:i] + strings.TrimRight(extra, "\n") + "\n" + text[i:]
	}
	return writeShared(s.FpmConf(), text)
}

// SetNginx rewrites nginx.conf to listen on 127.0.0.1:httpPort and pass PHP
// to fastcgiPass ("127.0.0.1:9000", "unix:/path"): a reload that moves
// nginx, or follows a pool that moved. URLAt reaches the new port.
func (s *Sandbox) SetNginx(httpPort int, fastcgiPass string) error {
	return writeShared(s.NginxConf(), nginxConf(s.dir, httpPort, fastcgiPass, s.opts.FastCGIReadTimeout))
}

// URLAt returns the address of path on nginx listening on port instead of
// HTTPPort.
func (s *Sandbox) URLAt(port int, path string) string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + path
}

// FreePort returns a loopback port nothing listens on now.
func FreePort() (int, error) {
	ports, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// The names -only accepts, which are also the table's row labels.
const (
	nameLnmpInit    = "lnmp-init"
	nameSupervisord = "supervisord"
	nameTini        = "tini"
)

// drainDelay is lnmp-init's --drain-delay. It must outlast the window the
// late requests arrive in (1.6 s after SIGTERM), as a preStop sleep would.
const drainDelay = "2s"

// contenderNames is the canonical row order.
func contenderNames() []string {
	return []string{nameLnmpInit, nameSupervisord, nameTini}
}

// binaries are the programs every contender runs, found once so all of them
// run the very same nginx and php-fpm.
type binaries struct {
	lnmpInit string
	// lnmpInitArgs are flags this lnmp-init build needs besides the three
	// the scenario sets (see lnmpInitExtraArgs).
	lnmpInitArgs []string
	// lnmpInitLabel says which lnmp-init ran, for the footer.
	lnmpInitLabel string
	nginx         string
	phpFPM        string
	supervisord   string
	tini          string
}

// commandFor returns PID 1's argv for the named init on sb, writing the
// supervisord config or start script it needs into the sandbox, so the file
// goes away with it.
func commandFor(name string, sb *lnmptest.Sandbox, bin binaries) ([]string, error) {
	switch name {
	case nameLnmpInit:
		argv := []string{bin.lnmpInit, "--drain-delay=" + drainDelay,
			"--php-fpm-config=" + sb.FpmConf(), "--nginx-config=" + sb.NginxConf()}
		return append(argv, bin.lnmpInitArgs...), nil
	case nameSupervisord:
		conf := filepath.Join(sb.Dir(), "supervisord.conf")
		if err := os.WriteFile(conf, []byte(supervisordConf(sb, bin)), 0o644); err != nil {
			return nil, fmt.Errorf("write supervisord config: %w", err)
		}
		return []string{bin.supervisord, "-n", "-c", conf}, nil
	case nameTini:
		script := filepath.Join(sb.Dir(), "start.sh")
		if err := os.WriteFile(script, []byte(startScript(sb, bin)), 0o755); err != nil {
			return nil, fmt.Errorf("write tini start script: %w", err)
		}
		return []string{bin.tini, "--", "sh", script}, nil
	}
	return nil, fmt.Errorf("unknown init %q", name)
}

// supervisordConf is the fairest supervisord setup: both servers stop with
// SIGQUIT (graceful), and supervisord stops the higher priority number
// first, so nginx stops before php-fpm as lnmp-init does. The children log
// to supervisord's own stdout, as in a container, and nothing is written
// outside the sandbox.
func supervisordConf(sb *lnmptest.Sandbox, bin binaries) string {
	return fmt.Sprintf(`[supervisord]
nodaemon=true
logfile=/dev/null
logfile_maxbytes=0
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s

[program:php-fpm]
command=%[2]s -F -y %[3]s
priority=1
stopsignal=QUIT
stopwaitsecs=30
autorestart=true
startsecs=0
redirect_stderr=true
stdout_logfile=/dev/fd/1
stdout_logfile_maxbytes=0

[program:nginx]
command=%[4]s -c %[5]s -g "daemon off;"
priority=2
stopsignal=QUIT
stopwaitsecs=30
autorestart=true
redirect_stderr=true
stdout_logfile=/dev/fd/1
stdout_logfile_maxbytes=0
`, sb.Dir(), bin.phpFPM, sb.FpmConf(), bin.nginx, sb.NginxConf())
}

// startScript is the common hand-written entrypoint: php-fpm daemonizes
// (-D overrides the config's daemonize = no) and the shell becomes nginx,
// so tini's only child, the one SIGTERM is forwarded to, is nginx.
func startScript(sb *lnmptest.Sandbox, bin binaries) string {
	return strings.Join([]string{
		"#!/bin/sh",
		"set -e",
		fmt.Sprintf("%s -D -y %s", bin.phpFPM, sb.FpmConf()),
		fmt.Sprintf("exec %s -c %s -g 'daemon off;'", bin.nginx, sb.NginxConf()),
		"",
	}, "\n")
}

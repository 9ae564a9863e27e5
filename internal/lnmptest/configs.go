package lnmptest

import (
	"fmt"
	"path/filepath"
	"time"
)

// The app pages' bodies, so tests compare against the same text the sandbox
// writes.
const (
	// BodyIndex is what /index.php answers.
	BodyIndex = "ok\n"
	// BodyStatic is what /healthz-static answers, straight from nginx, so a
	// test can tell an nginx problem from a php-fpm one.
	BodyStatic = "static\n"
)

// appPages are written into app/. slow.php loops on a microtime deadline
// because a worker's usleep() returns early when a signal arrives (SIGQUIT
// on graceful stop): a plain usleep would "finish" early and hide a cut
// request. orphan.php leaves a background sleep whose shell has already
// exited, so the sleep is re-parented to PID 1 and must be reaped there.
const (
	indexPHP = `<?php
echo "ok\n";
`
	slowPHP = `<?php
$ms = isset($_GET['ms']) ? max(0, (int) $_GET['ms']) : 3000;
$deadline = microtime(true) + $ms / 1000;
while (($left = $deadline - microtime(true)) > 0) {
    usleep((int) min($left * 1000000, 50000));
}
echo "done $ms\n";
`
	orphanPHP = `<?php
$s = isset($_GET['s']) && is_numeric($_GET['s']) ? $_GET['s'] : '0.5';
$out = [];
exec("sleep " . escapeshellarg($s) . " >/dev/null 2>&1 & echo \$!", $out);
echo "orphan " . trim(implode("", $out)) . "\n";
`
	envPHP = `<?php
$v = getenv('CONFIG_VERSION');
echo ($v === false ? "unset" : $v) . "\n";
`
	pidPHP = `<?php
echo getmypid() . "\n";
`
)

// phpFpmConf is the [global] section. error_log = /proc/self/fd/2 is what
// the official Docker images use; a php-fpm that is not root can only reopen
// it when its stderr belongs to its own uid (see RunOptions.RootStdio).
func phpFpmConf(dir string, pct time.Duration) string {
	return fmt.Sprintf(`[global]
pid = %s
error_log = /proc/self/fd/2
daemonize = no
process_control_timeout = %ds
include = %s/*.conf
`, filepath.Join(dir, "php-fpm.pid"), wholeSeconds(pct), filepath.Join(dir, "fpm.d"))
}

// wwwConf is the pool. pm = static keeps the worker count fixed so a test
// can fill every worker on purpose; clear_env stays at its default (yes) so
// only env[] entries reach PHP, as in production.
func wwwConf(listen string, unix bool, workers, envVersion int) string {
	socketMode := ""
	if unix {
		// The master creates the socket as whoever it runs as; nginx's
		// workers (www-data, or uid 33 when nothing is root) must connect.
		socketMode = "listen.mode = 0666\n"
	}
	return fmt.Sprintf(`[www]
listen = %s
%suser = www-data
group = www-data
pm = static
pm.max_children = %d
ping.path = /fpm-ping
pm.status_path = /fpm-status
catch_workers_output = yes
decorate_workers_output = no
env[CONFIG_VERSION] = %d
`, listen, socketMode, workers, envVersion)
}

// nginxConf has no daemon directive because lnmp-init adds -g 'daemon off;'
// and nginx rejects a duplicate. error_log is the keyword stderr, not
// /dev/stderr: the keyword writes to fd 2 as inherited, while opening
// /dev/stderr fails with EACCES for uid 33 when fd 2 is a root-owned pipe.
func nginxConf(dir string, httpPort int, fastcgiPass string, readTimeout time.Duration) string {
	tmp := filepath.Join(dir, "tmp")
	if readTimeout <= 0 {
		readTimeout = 60 * time.Second
	}
	return fmt.Sprintf(`user www-data;
pid %s;
error_log stderr;
worker_processes 2;

events {}

http {
    access_log off;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;

    include %s/*.conf;

    server {
        listen 127.0.0.1:%d;
        root %s;
        fastcgi_read_timeout %dms;

        location ~ \.php$ {
            fastcgi_pass %s;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        }

        location ~ ^/fpm-(status|ping)$ {
            fastcgi_pass %s;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        }

        location = /healthz-static {
            return 200 "static\n";
        }
    }
}
`, filepath.Join(dir, "nginx.pid"),
		filepath.Join(tmp, "client_body"), filepath.Join(tmp, "proxy"), filepath.Join(tmp, "fastcgi"),
		filepath.Join(tmp, "uwsgi"), filepath.Join(tmp, "scgi"),
		filepath.Join(dir, "conf.d"), httpPort, filepath.Join(dir, "app"), readTimeout.Milliseconds(), fastcgiPass, fastcgiPass)
}

// headersConf is included at http level, so every response carries the
// version and a reload test can see which config answered.
func headersConf(version int) string {
	return fmt.Sprintf("add_header X-Config-Version %d always;\n", version)
}

// wholeSeconds rounds up because php-fpm takes whole seconds and a shorter
// timeout than asked for would make a drain test flaky.
func wholeSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

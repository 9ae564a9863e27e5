package migrate

import (
	"fmt"
	"slices"
	"strings"
)

// nginxArgs maps nginx's command-line flags: -c to LNMP_NGINX_CONFIG,
// -g 'daemon off;' to nothing (lnmp-init passes it), anything else to a
// note.
func (t *translator) nginxArgs(args []string, where string) {
	for i := 0; i < len(args); i++ {
		a, next := args[i], ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch a {
		case "-c":
			t.set("LNMP_NGINX_CONFIG", unmark(next, "${", "}"), where+" command: nginx -c")
			i++
		case "-g":
			var kept []string
			for _, d := range strings.Split(next, ";") {
				if d = strings.TrimSpace(d); d != "" && strings.Join(strings.Fields(d), " ") != "daemon off" {
					kept = append(kept, d+";")
				}
			}
			if len(kept) > 0 {
				t.note(where+" command: nginx -g", "does not map: lnmp-init passes only -g 'daemon off;'; move %s into nginx.conf", strings.Join(kept, " "))
			}
			i++
		default:
			t.note(where+" command: nginx "+a, "does not map: lnmp-init runs nginx -c CONFIG -g 'daemon off;'; put the rest in nginx.conf")
		}
	}
}

// phpFPMArgs maps php-fpm's flags: -y to LNMP_PHP_FPM_CONFIG, -c to PHPRC,
// -F and -O to nothing, anything else to a note.
func (t *translator) phpFPMArgs(args []string, where string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, val, hasVal := strings.Cut(a, "=")
		value := func() string {
			if hasVal {
				return val
			}
			i++
			if i < len(args) {
				return args[i]
			}
			return ""
		}
		switch flag {
		case "-F", "--nodaemonize", "-O", "--force-stderr":
		case "-y", "--fpm-config":
			t.set("LNMP_PHP_FPM_CONFIG", unmark(value(), "${", "}"), where+" command: php-fpm "+flag)
		case "-c", "--php-ini":
			t.set("PHPRC", unmark(value(), "${", "}"), where+" command: php-fpm "+flag+"; PHP reads its php.ini from PHPRC")
		case "-R", "--allow-to-run-as-root":
			t.note(where+" command: php-fpm "+a, "does not map: lnmp-init does not pass -R; a pool whose workers run as root needs it, and should not exist")
		default:
			t.note(where+" command: php-fpm "+a, "does not map: lnmp-init runs php-fpm -F -y CONFIG; put the rest in php-fpm.conf or php.ini")
		}
	}
}

// order notes where supervisord's start and stop order differ from
// lnmp-init's.
func (t *translator) order() {
	fpm, nginx := t.main["php-fpm"], t.main["nginx"]
	if fpm == nil {
		t.note(t.cfg.File, "no program runs php-fpm: lnmp-init runs php-fpm and nginx itself, so the Procfile holds every program")
	}
	if nginx == nil {
		t.note(t.cfg.File, "no program runs nginx: lnmp-init runs php-fpm and nginx itself")
	}
	if fpm != nil && nginx != nil && nginx.Priority < fpm.Priority {
		t.note(fmt.Sprintf("[%s] priority=%d", nginx.Section, nginx.Priority), "not needed: lnmp-init always starts php-fpm first and nginx once php-fpm accepts connections; it stops nginx first")
	}
	for _, p := range t.cfg.Programs {
		if fpm != nil && kind(p.Argv) == "" && p.Priority < fpm.Priority {
			t.note(fmt.Sprintf("[%s] priority=%d", p.Section, p.Priority), "supervisord started it before php-fpm; lnmp-init starts the Procfile's programs once php-fpm is ready, in the Procfile's order")
		}
	}
	if len(t.res.Programs) > 1 {
		t.note("[program:*] priority", "on a stop, supervisord stopped programs one priority after another; lnmp-init sends every program its stop signal when the drain begins, at once, and waits for them within --stop-timeout")
	}
}

// supervisordSection maps [supervisord].
func (t *translator) supervisordSection() {
	for _, s := range t.cfg.Sections {
		if s.Name != "supervisord" {
			continue
		}
		for _, key := range s.Keys {
			v := s.Values[key]
			at := "[supervisord] " + key + "=" + v
			switch key {
			case "environment":
				for _, e := range t.cfg.Environment {
					t.set(e.name, e.value, "[supervisord] environment: every child gets lnmp-init's environment")
				}
			case "loglevel":
				t.logLevel(v, at)
			case "user":
				if v == "root" {
					t.note(at, "not needed: lnmp-init runs as the container's user")
				} else {
					t.note(at, whyUser, v)
				}
			case "minfds", "minprocs":
				t.note(at, "does not map: set the container's limits (docker run --ulimit, or the runtime's defaults)")
			case "umask", "directory", "strip_ansi":
				t.note(at, "does not map: lnmp-init keeps its own; set it in the image (WORKDIR) or in the program")
			default:
				t.note(at, "not needed: lnmp-init always runs in the foreground, logs to stderr and writes no pid file")
			}
		}
	}
}

// logLevel maps supervisord's loglevel to LNMP_LOG_LEVEL.
func (t *translator) logLevel(v, at string) {
	level := map[string]string{"critical": "error", "error": "error", "warn": "warn", "info": "info",
		"debug": "debug", "trace": "debug", "blather": "debug"}[strings.ToLower(v)]
	if level == "" {
		t.note(at, "does not map: not a log level")
		return
	}
	if level != "info" {
		t.set("LNMP_LOG_LEVEL", level, at)
	}
}

// otherSections notes the sections that are neither programs nor
// [supervisord].
func (t *translator) otherSections() {
	for _, s := range t.cfg.Sections {
		kind, _, _ := strings.Cut(s.Name, ":")
		at := "[" + s.Name + "]"
		switch kind {
		case "supervisord", "DEFAULT":
		case "include":
			t.note(at+" files="+s.Values["files"], "read: %s", strings.Join(t.cfg.Files[1:], ", "))
		case "group":
			t.note(at, "not needed: lnmp-init has no groups; their programs are in the Procfile one by one")
		case "unix_http_server", "inet_http_server", "supervisorctl", "rpcinterface", "ctlplugin":
			t.note(at, "not needed: lnmp-init has no control socket; kill -HUP 1 reloads nginx and php-fpm, and /livez, /readyz and /metrics are on :9180")
		case "eventlistener":
			t.note(at, "does not map: lnmp-init has no event protocol. A listener that stops supervisord when a program gives up is built in: at --crash-limit lnmp-init stops and exits, and on-crash=exit does it at a program's first crash")
		case "fcgi-program":
			t.note(at, "does not map: lnmp-init opens no sockets for its programs")
		default:
			t.note(at, "not a section supervisord knows; ignored")
		}
	}
	for _, w := range t.cfg.Warnings {
		t.note(t.cfg.File, "%s", w)
	}
	for _, name := range t.cfg.MissingEnv {
		t.note("%(ENV_"+name+")s", "%s is not set here; the command refers to it as ${%s}, which the shell expands when the program starts, as supervisord did when it started", name, name)
	}
}

// globals adds the settings that come from every program together.
func (t *translator) globals() {
	if len(t.res.Programs) > 0 || len(t.res.Disabled) > 0 {
		t.res.Settings = append([]Setting{{Name: "LNMP_PROCFILE", Value: t.res.Procfile, Why: "the Procfile above"}}, t.res.Settings...)
		t.res.Settings = append(t.res.Settings, Setting{Name: "LNMP_CHILD_LOGS", Value: "raw", Optional: true,
			Why: "lines untouched, as supervisord copied them; the default, tagged, marks each line with its program's name"})
	}
	if t.stopNeed > defaultStopTimeout {
		t.set("LNMP_STOP_TIMEOUT", fmt.Sprintf("%ds", int(t.stopNeed.Seconds())), fmt.Sprintf("the longest stopwaitsecs and %v for SIGTERM and SIGKILL; keep terminationGracePeriodSeconds above it (lnmp-init check --grace)", stopReserve))
	}
	if len(t.retries) > 0 {
		limit := slices.Max(t.retries) + 1
		if limit != 5 {
			t.set("LNMP_CRASH_LIMIT", fmt.Sprint(limit), "startretries+1, the most of any program: one limit for every child, crashes counted within LNMP_CRASH_WINDOW (1m) whenever they happen, not only at start")
		}
	}
}

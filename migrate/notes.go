package migrate

import (
	"fmt"
	"slices"
	"strings"
)

// Why some settings do not map, said once here.
const (
	whyUser = "does not map: lnmp-init runs every program as its own user, so PID 1 holds no code that switches users and the container's user is the one its security settings see. Run the container as that user (USER, runAsUser); or, with lnmp-init as root, start the command with setpriv --reuid=%[1]s --regid=%[1]s --init-groups"
	whyLogs = "does not map: lnmp-init writes no log files; the output goes to lnmp-init's own (LNMP_CHILD_LOGS), which the container runtime keeps. A program that must write a file has to be told so itself"
	whyAuto = "does not map: supervisord wrote the output to files in childlogdir; lnmp-init passes it to its own output (LNMP_CHILD_LOGS), which the container runtime keeps"
)

// containerOutput are the paths that mean "the container's output".
var containerOutput = []string{"/dev/stdout", "/dev/stderr", "/dev/fd/1", "/dev/fd/2", "/proc/self/fd/1", "/proc/self/fd/2"}

// programNotes explains the keys of a Procfile program's section that
// the Procfile line does not carry.
func (t *translator) programNotes(p *Program, where string) {
	for _, key := range p.Keys {
		v := p.Values[key]
		at := where + " " + key + "=" + v
		switch key {
		case "startsecs":
			t.note(at, "does not map: a program counts as running once started; every crash counts toward --crash-limit within --crash-window (LNMP_CRASH_LIMIT, LNMP_CRASH_WINDOW)")
		case "startretries":
			t.retries = append(t.retries, p.Startretries)
		case "stopasgroup", "killasgroup":
			t.note(at, "not needed: lnmp-init sends the stop signal, and SIGTERM and SIGKILL past the deadline, to the program's whole process group")
		case "user":
			t.note(at, whyUser, v)
		case "redirect_stderr":
			t.note(at, "does not map: lnmp-init keeps stderr apart; tagged lines say \"stream\":\"stderr\"")
		case "umask":
			t.note(at, "does not map: set the umask in the program, or in a shell command before it (umask %s; exec ...)", v)
		case "serverurl", "stdout_events_enabled", "stderr_events_enabled", "stdout_capture_maxbytes", "stderr_capture_maxbytes":
			t.note(at, "does not map: lnmp-init has no event protocol and no XML-RPC")
		case "stdout_syslog", "stderr_syslog":
			t.note(at, "does not map: lnmp-init does not write to syslog; a collector reads the container's output")
		}
	}
	t.logNotes(p, where)
}

// logNotes explains where a program's output went and goes now.
func (t *translator) logNotes(p *Program, where string) {
	for _, stream := range []string{"stdout", "stderr"} {
		key := stream + "_logfile"
		v, set := p.Values[key]
		at := where + " " + key + "=" + v
		if !set {
			at = where + " " + key + " unset (AUTO)"
		}
		switch {
		case stream == "stderr" && p.Values["redirect_stderr"] != "" && strings.EqualFold(p.Values["redirect_stderr"], "true"):
		case !set || strings.EqualFold(v, "auto"):
			t.note(at, whyAuto)
		case slices.Contains(containerOutput, v):
			// The container's output: what lnmp-init does anyway.
		case strings.EqualFold(v, "none") || strings.EqualFold(v, "off"):
			t.note(at, "does not map: lnmp-init discards no output; tell the program to be quiet, or send it to /dev/null in a shell command")
		default:
			t.note(at, whyLogs)
		}
	}
}

// mainChild turns the program that runs nginx or php-fpm into lnmp-init
// settings.
func (t *translator) mainChild(p *Program, k string) {
	where := "[" + p.Section + "]"
	args := mainArgv(p.Argv)
	t.binary(k, args[0], where)
	if k == "nginx" {
		t.nginxArgs(args[1:], where)
	} else {
		t.phpFPMArgs(args[1:], where)
	}
	for _, key := range p.Keys {
		v := p.Values[key]
		at := where + " " + key + "=" + v
		switch key {
		case "command", "priority", "process_name", "stdout_logfile", "stderr_logfile":
		case "stopsignal":
			if strings.EqualFold(strings.TrimPrefix(strings.ToUpper(v), "SIG"), "QUIT") {
				t.note(at, "not needed: lnmp-init stops %s with SIGQUIT, its graceful stop", k)
			} else {
				t.note(at, "does not map: lnmp-init stops %s with SIGQUIT, its graceful stop; %s would cut requests", k, v)
			}
		case "stopwaitsecs":
			t.note(at, "does not map as such: php-fpm's process_control_timeout is how long requests may run in a stop, and --stop-timeout (LNMP_STOP_TIMEOUT) bounds the whole stop; lnmp-init check prints the plan")
		case "autorestart":
			t.note(at, "not needed: lnmp-init restarts %s after every crash, up to --crash-limit", k)
		case "startsecs":
			t.note(at, "not needed: lnmp-init counts %s as started once it accepts connections (--start-timeout)", k)
		case "startretries":
			t.retries = append(t.retries, p.Startretries)
		case "environment":
			for _, e := range p.Environment {
				t.set(e.name, e.value, fmt.Sprintf("%s environment: lnmp-init's environment, which every child gets", where))
			}
		case "user":
			if v != "root" {
				t.note(at, whyUser, v)
			}
		case "autostart", "numprocs", "directory":
			if !p.Autostart || p.Numprocs > 1 || key == "directory" {
				t.note(at, "does not map: lnmp-init runs one %s, always, in its own working directory", k)
			}
		case "redirect_stderr":
			t.note(at, "not needed: %s's stderr goes to lnmp-init's stderr, its stdout to its stdout", k)
		default:
			if !strings.HasPrefix(key, "stdout_") && !strings.HasPrefix(key, "stderr_") {
				t.note(at, "not needed for %s", k)
			}
		}
	}
	t.logNotes(p, where)
}

// binary sets the binary setting when lnmp-init would not find the same
// one by itself: a versioned name, or a path outside the usual places.
func (t *translator) binary(k, bin, where string) {
	env, plain := "LNMP_NGINX_BIN", "nginx"
	if k == "php-fpm" {
		env, plain = "LNMP_PHP_FPM_BIN", "php-fpm"
	}
	usual := []string{"/usr/sbin/", "/usr/local/sbin/", "/sbin/", "/usr/bin/", "/usr/local/bin/", "/bin/"}
	for _, d := range usual {
		if bin == plain || bin == d+plain {
			return
		}
	}
	t.set(env, unmark(bin, "${", "}"), where+" command: the binary it ran")
}

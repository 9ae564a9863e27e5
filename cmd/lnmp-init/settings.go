package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/lnmp-init/lnmp-init/childlog"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// envPrefix is the prefix of every environment variable lnmp-init reads.
const envPrefix = "LNMP"

// settings is everything an operator can set. Each field is a flag and an
// environment variable; the variable's name is the flag's, upper-cased with
// '_' for '-' and LNMP_ in front (envName), and flags win.
type settings struct {
	PhpFpmBin    string        `envconfig:"PHP_FPM_BIN"`
	PhpFpmConfig string        `envconfig:"PHP_FPM_CONFIG"`
	NginxBin     string        `envconfig:"NGINX_BIN"`
	NginxConfig  string        `envconfig:"NGINX_CONFIG"`
	DrainDelay   time.Duration `envconfig:"DRAIN_DELAY" default:"5s"`
	StopTimeout  time.Duration `envconfig:"STOP_TIMEOUT" default:"25s"`
	StartTimeout time.Duration `envconfig:"START_TIMEOUT" default:"30s"`
	CrashLimit   int           `envconfig:"CRASH_LIMIT" default:"5"`
	CrashWindow  time.Duration `envconfig:"CRASH_WINDOW" default:"60s"`
	HangTimeout  time.Duration `envconfig:"HANG_TIMEOUT" default:"10s"`
	HealthAddr   string        `envconfig:"HEALTH_ADDR" default:":9180"`
	HotReload    bool          `envconfig:"HOT_RELOAD" default:"true"`
	Watch        []string      `envconfig:"WATCH"`
	Only         string        `envconfig:"ONLY"`
	PeerLock     string        `envconfig:"PEER_LOCK"`
	Procfile     string        `envconfig:"PROCFILE"`
	PreStart     string        `envconfig:"PRE_START"` // one task a line
	ChildLogs    string        `envconfig:"CHILD_LOGS" default:"tagged"`
	LogFormat    string        `envconfig:"LOG_FORMAT" default:"json"`
	LogLevel     string        `envconfig:"LOG_LEVEL" default:"info"`

	// PhpfpmProcessMetrics adds php-fpm's per-process metrics.
	PhpfpmProcessMetrics bool `envconfig:"PHPFPM_PROCESS_METRICS" default:"false"`
}

// bind registers every setting as a flag, with the current values (defaults
// and environment) as the flags' defaults.
func (s *settings) bind(fs *flag.FlagSet) {
	fs.StringVar(&s.PhpFpmBin, "php-fpm-bin", s.PhpFpmBin, "php-fpm binary; empty: php-fpm, php-fpm8.x or php-fpm8x on PATH or in the sbin directories")
	fs.StringVar(&s.PhpFpmConfig, "php-fpm-config", s.PhpFpmConfig, "php-fpm config; empty: the binary's distribution default (/usr/local/etc/php-fpm.conf, /etc/php/8.x/fpm/php-fpm.conf, /etc/php8x/php-fpm.conf)")
	fs.StringVar(&s.NginxBin, "nginx-bin", s.NginxBin, "nginx binary; empty: nginx on PATH or in the sbin directories")
	fs.StringVar(&s.NginxConfig, "nginx-config", s.NginxConfig, "nginx config; empty: /etc/nginx/nginx.conf")
	fs.DurationVar(&s.DrainDelay, "drain-delay", s.DrainDelay, "after SIGTERM, keep serving this long before stopping nginx, while load balancers still send traffic")
	fs.DurationVar(&s.StopTimeout, "stop-timeout", s.StopTimeout, "bound on the whole stop, drain delay included; keep it under the orchestrator's kill timeout (terminationGracePeriodSeconds)")
	fs.DurationVar(&s.StartTimeout, "start-timeout", s.StartTimeout, "how long php-fpm and nginx may take to accept connections")
	fs.IntVar(&s.CrashLimit, "crash-limit", s.CrashLimit, "this many crashes of one child within --crash-window make lnmp-init stop and exit non-zero")
	fs.DurationVar(&s.CrashWindow, "crash-window", s.CrashWindow, "the window --crash-limit counts crashes in")
	fs.DurationVar(&s.HangTimeout, "hang-timeout", s.HangTimeout, "restart php-fpm (or nginx) when it looks hung this long: its master stopped or not running, or nothing answering with every worker stopped; a pool merely busy with slow requests is not hung; 0 turns this off")
	fs.StringVar(&s.HealthAddr, "health-addr", s.HealthAddr, "address of /livez, /readyz and /metrics; empty turns them off")
	fs.BoolVar(&s.PhpfpmProcessMetrics, "phpfpm-process-metrics", s.PhpfpmProcessMetrics, "add the phpfpm_process_* metrics, one series set per worker, read from each pool's full status page")
	fs.BoolVar(&s.HotReload, "hot-reload", s.HotReload, "watch the configs and reload nginx (SIGHUP) and php-fpm (SIGUSR2) when they change, after validating them")
	fs.Var(&pathList{paths: &s.Watch}, "watch", "one more path to watch (repeatable; the env var takes a comma-separated list); it reloads the program whose config covers it, or both")
	fs.StringVar(&s.Only, "only", s.Only, "run one server alone, nginx or php-fpm, for a pod that has each in a container of its own; empty: both")
	fs.StringVar(&s.PeerLock, "peer-lock", s.PeerLock, "with --only: a file in a volume both containers mount (an emptyDir); the nginx side holds it while nginx may send, the php-fpm side stops php-fpm only once it is free")
	fs.StringVar(&s.Procfile, "procfile", s.Procfile, "programs to run beside nginx and php-fpm (queue workers, schedulers), one \"name: command\" a line; empty: none")
	fs.Var(&taskList{tasks: &s.PreStart}, "pre-start", "a command to run to its end before php-fpm starts (repeatable, in order; the env var takes one a line); one that fails ends lnmp-init with its exit code")
	fs.StringVar(&s.ChildLogs, "child-logs", s.ChildLogs, "tagged: every line the children write goes out whole, tagged with their name and stream, in --log-format; raw: they write to lnmp-init's output untouched")
	fs.StringVar(&s.LogFormat, "log-format", s.LogFormat, "json or console")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info, warn or error")
}

// pathList is a repeatable flag. The first --watch replaces what the
// environment gave: flags win.
type pathList struct {
	paths *[]string
	set   bool
}

// String lists the paths, comma-separated.
func (l *pathList) String() string {
	if l.paths == nil {
		return ""
	}
	return strings.Join(*l.paths, ",")
}

// Set adds one path.
func (l *pathList) Set(v string) error {
	if !filepath.IsAbs(v) {
		return fmt.Errorf("want an absolute path, got %q", v)
	}
	if !l.set {
		*l.paths, l.set = nil, true
	}
	*l.paths = append(*l.paths, v)
	return nil
}

// taskList is --pre-start: repeatable, one task each, in order. The first
// flag replaces what LNMP_PRE_START gave: flags win.
type taskList struct {
	tasks *string // one a line, as LNMP_PRE_START holds them
	set   bool
}

// String lists the tasks, one a line.
func (l *taskList) String() string {
	if l.tasks == nil {
		return ""
	}
	return *l.tasks
}

// Set adds one task.
func (l *taskList) Set(v string) error {
	if strings.Contains(v, "\n") {
		return fmt.Errorf("want one command, got several lines in %q", v)
	}
	if !l.set {
		*l.tasks, l.set = "", true
	}
	if *l.tasks != "" {
		*l.tasks += "\n"
	}
	*l.tasks += v
	return nil
}

// usageError is bad input from the operator: exit code 2, one line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func settingError(flagName, format string, args ...any) error {
	return &usageError{fmt.Sprintf("--%s (%s): %s", flagName, envName(flagName), fmt.Sprintf(format, args...))}
}

// envName is the environment variable that goes with a flag.
func envName(flagName string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flagName is the flag that goes with an environment variable.
func flagName(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, envPrefix+"_"), "_", "-"))
}

// parseSettings reads the environment, then the flags; extra, when not nil,
// adds a subcommand's own flags. flag.ErrHelp means the operator asked for
// --help, which has been written to out.
func parseSettings(name string, args []string, out io.Writer, extra func(*flag.FlagSet)) (*settings, []string, error) {
	s := &settings{}
	if err := envconfig.Process(envPrefix, s); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, nil, settingError(flagName(pe.KeyName), "invalid value %q: %v", pe.Value, unwrapParse(pe.Err))
		}
		return nil, nil, &usageError{err.Error()}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s.bind(fs)
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {} // --help is answered below; errors get one line, not the usage text
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(out, fs)
			return nil, nil, err
		}
		// The flag package's own wording; reworded to name the env var too.
		flagValueError := regexp.MustCompile(`^invalid value "(.*)" for flag -([a-z0-9-]+): (.*)$`)
		if m := flagValueError.FindStringSubmatch(err.Error()); m != nil {
			return nil, nil, settingError(m[2], "invalid value %q: %s", m[1], m[3])
		}
		if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
			return nil, nil, &usageError{"unknown flag --" + name + "; see lnmp-init --help"}
		}
		return nil, nil, &usageError{err.Error() + "; see lnmp-init --help"}
	}
	return s, fs.Args(), s.validate()
}

// unwrapParse shortens strconv's and time's errors to their reason.
func unwrapParse(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// validate checks the values that need no file system.
func (s *settings) validate() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
		min  time.Duration
	}{
		{"drain-delay", s.DrainDelay, 0},
		{"stop-timeout", s.StopTimeout, supervisor.EscalationReserve + time.Second},
		{"start-timeout", s.StartTimeout, time.Millisecond},
		{"crash-window", s.CrashWindow, time.Millisecond},
	} {
		if d.v < d.min {
			return settingError(d.flag, "must be >= %v, got %v", d.min, d.v)
		}
	}
	if room := s.StopTimeout - supervisor.EscalationReserve; s.DrainDelay >= room {
		return settingError("drain-delay", "%v leaves no time to stop within --stop-timeout (%s) %v, of which %v is kept for SIGTERM and SIGKILL",
			s.DrainDelay, envName("stop-timeout"), s.StopTimeout, supervisor.EscalationReserve)
	}
	if s.HangTimeout != 0 && s.HangTimeout < 2*time.Second {
		return settingError("hang-timeout", "must be 0 (off) or >= 2s (php-fpm is looked at once a second), got %v", s.HangTimeout)
	}
	if s.CrashLimit < 1 {
		return settingError("crash-limit", "must be >= 1, got %d", s.CrashLimit)
	}
	for _, w := range s.Watch {
		if !filepath.IsAbs(w) {
			return settingError("watch", "want absolute paths, got %q", w)
		}
	}
	if s.HealthAddr != "" {
		if _, _, err := net.SplitHostPort(s.HealthAddr); err != nil {
			return settingError("health-addr", "want host:port or :port, got %q", s.HealthAddr)
		}
	}
	switch s.Only {
	case "", "nginx", "php-fpm":
	default:
		return settingError("only", "must be nginx, php-fpm or empty (both), got %q", s.Only)
	}
	if s.PeerLock != "" && s.Only == "" {
		return settingError("peer-lock", "orders the stop of two containers, so it needs --only (%s)", envName("only"))
	}
	if s.PeerLock != "" && !filepath.IsAbs(s.PeerLock) {
		return settingError("peer-lock", "want an absolute path, got %q", s.PeerLock)
	}
	if _, err := childlog.ParseMode(s.ChildLogs); err != nil {
		return settingError("child-logs", "%v", err)
	}
	if s.LogFormat != "json" && s.LogFormat != "console" {
		return settingError("log-format", "must be json or console, got %q", s.LogFormat)
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return settingError("log-level", "must be debug, info, warn or error, got %q", s.LogLevel)
	}
	return nil
}

// usage writes --help: every flag with its environment variable.
func usage(out io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(out, `lnmp-init: PID 1 for nginx + php-fpm containers.

Usage:
  lnmp-init [flags]              run php-fpm and nginx, drain on SIGTERM
  lnmp-init check [flags]        validate the configs and print the stop plan
                                 (also --grace=30s, --warn-only)
  lnmp-init probe ready|live     ask a running lnmp-init (exit 0 or 1)
                                 (also --health-addr, --timeout=2s)
  lnmp-init env [flags]          list every LNMP_ variable with its value now
  lnmp-init migrate FILE         print what replaces a supervisord config
                                 (also --procfile=PATH)
  lnmp-init version              print the version

Flags (each can also be set by its environment variable; a flag wins):
`)
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(out, "  --%s  (%s, now %s)\n      %s\n", f.Name, envName(f.Name), def, f.Usage)
	})
}

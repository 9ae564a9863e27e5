package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestEveryFlagHasItsEnvVar checks the naming rule both ways: each flag's
// env var is a field's envconfig tag, and each tagged field has a flag.
func TestEveryFlagHasItsEnvVar(t *testing.T) {
	tags := map[string]bool{}
	rt := reflect.TypeOf(settings{})
	for i := range rt.NumField() {
		tags[envPrefix+"_"+rt.Field(i).Tag.Get("envconfig")] = true
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	(&settings{}).bind(fs)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !tags[envName(f.Name)] {
			t.Errorf("flag --%s: no field is tagged %s", f.Name, envName(f.Name))
		}
		if flagName(envName(f.Name)) != f.Name {
			t.Errorf("flag --%s does not round-trip through %s", f.Name, envName(f.Name))
		}
	})
	if n != len(tags) {
		t.Errorf("%d flags for %d tagged fields", n, len(tags))
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	t.Setenv("LNMP_DRAIN_DELAY", "7s")
	t.Setenv("LNMP_CRASH_LIMIT", "9")
	s, _, err := parseSettings("t", []string{"--drain-delay=3s"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.DrainDelay.String() != "3s" || s.CrashLimit != 9 {
		t.Fatalf("drain delay %v (want the flag's 3s), crash limit %d (want the env's 9)", s.DrainDelay, s.CrashLimit)
	}
}

func TestDefaults(t *testing.T) {
	s, _, err := parseSettings("t", nil, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.DrainDelay.String() != "5s" || s.StopTimeout.String() != "25s" || s.CrashLimit != 5 || s.LogFormat != "json" {
		t.Fatalf("defaults %+v", s)
	}
}

// TestBadInput: each mistake exits 2 with one line that names the flag and
// its env var.
func TestBadInput(t *testing.T) {
	pool := filepath.Join(t.TempDir(), "php-fpm.conf")
	if err := os.WriteFile(pool, []byte("[www]\nlisten = 127.0.0.1:9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  [2]string
		want string
	}{
		{args: []string{"--drain-delay=-1s"}, want: "--drain-delay (LNMP_DRAIN_DELAY): must be >= 0s, got -1s"},
		{args: []string{"--drain-delay=soon"}, want: `--drain-delay (LNMP_DRAIN_DELAY): invalid value "soon"`},
		{env: [2]string{"LNMP_STOP_TIMEOUT", "abc"}, want: `--stop-timeout (LNMP_STOP_TIMEOUT): invalid value "abc"`},
		{env: [2]string{"LNMP_CRASH_LIMIT", "many"}, want: `--crash-limit (LNMP_CRASH_LIMIT): invalid value "many"`},
		{args: []string{"--stop-timeout=1s"}, want: "--stop-timeout (LNMP_STOP_TIMEOUT): must be >= 3s"},
		{args: []string{"--drain-delay=30s"}, want: "--drain-delay (LNMP_DRAIN_DELAY): 30s leaves no time to stop within --stop-timeout (LNMP_STOP_TIMEOUT) 25s"},
		{args: []string{"--crash-limit=0"}, want: "--crash-limit (LNMP_CRASH_LIMIT): must be >= 1"},
		{args: []string{"--log-format=xml"}, want: "--log-format (LNMP_LOG_FORMAT): must be json or console"},
		{args: []string{"--log-level=loud"}, want: "--log-level (LNMP_LOG_LEVEL): must be"},
		{args: []string{"--bogus"}, want: "unknown flag --bogus; see lnmp-init --help"},
		{args: []string{"extra"}, want: `unexpected argument "extra"`},
		{args: []string{"--php-fpm-bin=/nonexistent/php-fpm"}, want: "--php-fpm-bin (LNMP_PHP_FPM_BIN): "},
		{args: []string{"--nginx-bin=/nonexistent/nginx"}, want: "--nginx-bin (LNMP_NGINX_BIN): "},
		{args: []string{"--php-fpm-bin=/bin/true", "--php-fpm-config=/nonexistent.conf"}, want: "--php-fpm-config (LNMP_PHP_FPM_CONFIG): "},
		{args: []string{"--php-fpm-bin=/bin/true", "--nginx-bin=/bin/true", "--php-fpm-config=" + pool, "--nginx-config=/nonexistent.conf"}, want: "--nginx-config (LNMP_NGINX_CONFIG): "},
	} {
		t.Run(strings.Join(tc.args, " ")+tc.env[0], func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			var stdout, stderr bytes.Buffer
			// The probes on a port of their own: the default :9180 may be
			// held on this machine, and its error would come first.
			code := run(append([]string{"--health-addr=127.0.0.1:0"}, tc.args...), &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestHelpListsEveryEnvVar(t *testing.T) {
	var out bytes.Buffer
	_, _, err := parseSettings("t", []string{"--help"}, &out, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err %v, want flag.ErrHelp", err)
	}
	for _, env := range []string{"LNMP_PHP_FPM_BIN", "LNMP_PHP_FPM_CONFIG", "LNMP_NGINX_BIN", "LNMP_NGINX_CONFIG", "LNMP_DRAIN_DELAY", "LNMP_STOP_TIMEOUT"} {
		if !strings.Contains(out.String(), env) {
			t.Errorf("--help does not mention %s", env)
		}
	}
	if code := run([]string{"--help"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("--help exits %d, want 0", code)
	}
}

// TestEnvListsEveryVariable: `lnmp-init env` prints one NAME=value line per
// setting, with the value the environment gives.
func TestEnvListsEveryVariable(t *testing.T) {
	t.Setenv("LNMP_DRAIN_DELAY", "7s")
	var out, errOut bytes.Buffer
	if code := run([]string{"env"}, &out, &errOut); code != 0 {
		t.Fatalf("env exit %d: %s", code, errOut.String())
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	(&settings{}).bind(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out.String(), "\n"+envName(f.Name)+"=") {
			t.Errorf("env does not list %s:\n%s", envName(f.Name), out.String())
		}
	})
	if !strings.Contains(out.String(), "\nLNMP_DRAIN_DELAY=7s\n") {
		t.Errorf("env does not show the environment's LNMP_DRAIN_DELAY=7s:\n%s", out.String())
	}
}

func TestUnknownEnv(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	(&settings{}).bind(fs)
	got, foreign := unknownEnv([]string{
		"LNMP_DRAIN_DELAYS=3s", "LNMP_STOPTIMEOUT=20s", "LNMP_DRAIN=3s", "LNMP_APP_RELEASE=v2", "LNMP_REQUIRE_INTEGRATION=1", "LNMP_DRAIN_DELAY=3s", "PATH=/bin",
		// What the kubelet sets for Services named lnmp-example and lnmp.
		"LNMP_EXAMPLE_SERVICE_HOST=10.96.0.10", "LNMP_EXAMPLE_SERVICE_PORT=80", "LNMP_EXAMPLE_SERVICE_PORT_HTTP=80",
		"LNMP_EXAMPLE_PORT=tcp://10.96.0.10:80", "LNMP_EXAMPLE_PORT_80_TCP=tcp://10.96.0.10:80",
		"LNMP_EXAMPLE_PORT_80_TCP_PROTO=tcp", "LNMP_EXAMPLE_PORT_80_TCP_PORT=80", "LNMP_EXAMPLE_PORT_80_TCP_ADDR=10.96.0.10",
		"LNMP_SERVICE_HOST=10.96.0.11", "LNMP_PORT=tcp://10.96.0.11:80",
	}, fs)
	if len(got) != 3 || !strings.Contains(got[0], "LNMP_DRAIN_DELAYS") || !strings.Contains(got[0], "did you mean LNMP_DRAIN_DELAY?") ||
		!strings.Contains(got[1], "did you mean LNMP_STOP_TIMEOUT?") || !strings.Contains(got[2], "LNMP_DRAIN names no setting") {
		t.Fatalf("unknownEnv = %q", got)
	}
	if strings.Join(foreign, " ") != "LNMP_APP_RELEASE LNMP_REQUIRE_INTEGRATION" {
		t.Fatalf("foreign = %q, want the two names far from every setting", foreign)
	}
}

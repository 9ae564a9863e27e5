package migrate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procfile"
)

// TestMigrationStartsTheSamePrograms migrates each shape and checks the
// output against what supervisord itself reads: the Procfile, parsed back,
// runs every program supervisord would start, with the same argv, working
// directory, stop signal and environment; nginx and php-fpm get the same
// configs through the settings.
func TestMigrationStartsTheSamePrograms(t *testing.T) {
	for _, conf := range []string{"testdata/basic/supervisord.conf", "testdata/laravel/supervisord.conf", "testdata/include/supervisord.conf"} {
		t.Run(filepath.Base(filepath.Dir(conf)), func(t *testing.T) {
			want, err := oracle(t, conf, shapeEnv)
			if err != nil {
				t.Fatal(err)
			}
			// Without REVERB_PORT, as on a machine that lacks it: the
			// command must then refer to it at run time.
			env := slices.DeleteFunc(slices.Clone(shapeEnv), func(e string) bool { return strings.HasPrefix(e, "REVERB_PORT=") })
			cfg, err := Load(conf, env)
			if err != nil {
				t.Fatal(err)
			}
			res := Translate(cfg, "/app/Procfile")
			var out bytes.Buffer
			if err := Write(&out, res); err != nil {
				t.Fatal(err)
			}
			progs := procfileOf(t, out.String())
			settings := settingsOf(out.String())
			var started []string
			for _, w := range want {
				switch kind(w.Argv) {
				case "nginx":
					checkFlag(t, settings, "LNMP_NGINX_CONFIG", w.Argv, "-c")
				case "php-fpm":
					checkFlag(t, settings, "LNMP_PHP_FPM_CONFIG", w.Argv, "-y", "--fpm-config")
				default:
					if w.Autostart {
						started = append(started, w.Name)
						checkProgram(t, progs, settings, w)
					}
				}
			}
			if len(progs) != len(started) {
				t.Errorf("the Procfile runs %d programs, supervisord starts %q", len(progs), started)
			}
			t.Logf("migrate %s:\n%s", conf, out.String())
		})
	}
}

// procfileOf takes the Procfile out of migrate's output and parses it as
// lnmp-init will.
func procfileOf(t *testing.T, out string) map[string]procfile.Program {
	t.Helper()
	var text strings.Builder
	in := false
	for _, line := range strings.SplitAfter(out, "\n") {
		switch {
		case strings.HasPrefix(line, "# Procfile:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			text.WriteString(line)
		}
	}
	progs, err := procfile.Parse("/app/Procfile", []byte(text.String()))
	if err != nil {
		t.Fatalf("the Procfile does not parse: %v\n%s", err, text.String())
	}
	m := make(map[string]procfile.Program)
	for _, p := range progs {
		m[p.Name] = p
	}
	return m
}

// settingsOf reads the ENV lines of migrate's output.
func settingsOf(out string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(out, "\n") {
		if kv, ok := strings.CutPrefix(line, "ENV "); ok {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// checkFlag checks that the setting env holds the value of one of flags in
// argv, or is unset when argv has none of them.
func checkFlag(t *testing.T, settings map[string]string, env string, argv []string, flags ...string) {
	t.Helper()
	want := ""
	for i, a := range argv {
		if slices.Contains(flags, a) && i+1 < len(argv) {
			want = argv[i+1]
		}
	}
	if settings[env] != want {
		t.Errorf("%s=%q, want %q from %q", env, settings[env], want, argv)
	}
}

// checkProgram compares one supervisord program with its Procfile line.
func checkProgram(t *testing.T, progs map[string]procfile.Program, settings map[string]string, w oracleProgram) {
	t.Helper()
	p, ok := progs[w.Name]
	if !ok {
		t.Errorf("%s: not in the Procfile", w.Name)
		return
	}
	if got := argvOf(t, p, w); !reflect.DeepEqual(got, w.Argv) {
		t.Errorf("%s: runs %q, supervisord runs %q", w.Name, got, w.Argv)
	}
	wantDir := w.Directory
	if wantDir == "" {
		wantDir = "/app"
	}
	if p.Dir != wantDir {
		t.Errorf("%s: dir %q, want %q", w.Name, p.Dir, wantDir)
	}
	if int(p.StopSignal) != w.StopSignal {
		t.Errorf("%s: stop signal %v, supervisord's %v", w.Name, p.StopSignal, unix.Signal(w.StopSignal))
	}
	env := make(map[string]string)
	for k, v := range settings {
		if !strings.HasPrefix(k, "LNMP_") {
			env[k] = v
		}
	}
	for _, e := range p.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	if !reflect.DeepEqual(env, w.Environment) {
		t.Errorf("%s: environment %v, supervisord's %v", w.Name, env, w.Environment)
	}
}

// argvOf is the argv p runs. With a shell, a script that supervisord ran
// as sh -c SCRIPT is compared as such; any other command is a list of
// quoted words, which the real /bin/sh turns back into words, with the
// environment supervisord expanded %(ENV_X)s from.
func argvOf(t *testing.T, p procfile.Program, w oracleProgram) []string {
	t.Helper()
	if !p.Shell {
		return p.Argv()
	}
	if len(w.Argv) == 3 && shells[w.Argv[0]] && w.Argv[1] == "-c" {
		return []string{w.Argv[0], "-c", p.Text}
	}
	cmd := exec.Command(procfile.ShellPath, "-c", "set -- "+p.Text+"\nprintf '%s\\0' \"$@\"")
	cmd.Env = shapeEnv
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: sh: %v", p.Name, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// TestMigratingDocShowsRealOutput keeps docs/migrating.md honest: its
// example config is the Laravel shape, and the output it shows is what
// migrate prints for it.
func TestMigratingDocShowsRealOutput(t *testing.T) {
	doc, err := os.ReadFile("../docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)[strings.Index(string(doc), "### lnmp-init migrate"):]
	conf, err := os.ReadFile("testdata/laravel/supervisord.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(section, "```ini\n"+string(conf)+"```") {
		t.Error("the doc's config is not testdata/laravel/supervisord.conf")
	}
	cfg, err := Load("testdata/laravel/supervisord.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Write(&out, Translate(cfg, "/var/www/html/Procfile")); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(out.String(), filepath.Dir(cfg.File), "/etc/supervisor")
	if !strings.Contains(section, "```sh\n"+want+"```") {
		t.Errorf("the doc's output is not what migrate prints now:\n%s", want)
	}
}

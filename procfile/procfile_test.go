package procfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func parse(t *testing.T, text string) []Program {
	t.Helper()
	progs, err := Parse("/app/Procfile", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return progs
}

func TestParseDefaults(t *testing.T) {
	progs := parse(t, "# a comment\n\nworker: php artisan queue:work --tries=3\r\nweb:bin/web\n")
	if len(progs) != 2 {
		t.Fatalf("got %d programs, want 2", len(progs))
	}
	w := progs[0]
	want := Program{Name: "worker", Command: Command{Text: "php artisan queue:work --tries=3",
		Path: "php", Args: []string{"artisan", "queue:work", "--tries=3"}},
		Dir: "/app", StopSignal: unix.SIGTERM, OnCrash: Restart, OnExit0: Restart, File: "/app/Procfile", Line: 3}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("got  %+v\nwant %+v", w, want)
	}
	if progs[1].Name != "web" || progs[1].Path != "bin/web" || progs[1].Line != 4 {
		t.Errorf("second program: %+v", progs[1])
	}
}

func TestParseOptions(t *testing.T) {
	progs := parse(t, `# lnmp: stop-signal=QUIT stop-timeout=90s
# the queue worker; an ordinary comment between options and program is fine
# lnmp: on-crash=exit on-exit-0=ignore dir=../srv env=APP_ENV=prod env="GREETING=hello \"you\""
worker: php artisan queue:work
other: sleep 1
`)
	w := progs[0]
	if w.StopSignal != unix.SIGQUIT || w.StopTimeout != 90*time.Second || w.OnCrash != Exit || w.OnExit0 != Ignore {
		t.Errorf("options not applied: %+v", w)
	}
	if w.Dir != "/srv" {
		t.Errorf("dir: got %q, want /srv (relative to the Procfile's directory)", w.Dir)
	}
	if want := []string{"APP_ENV=prod", `GREETING=hello "you"`}; !reflect.DeepEqual(w.Env, want) {
		t.Errorf("env: got %q, want %q", w.Env, want)
	}
	if o := progs[1]; o.StopSignal != unix.SIGTERM || o.Env != nil || o.Dir != "/app" {
		t.Errorf("options leaked to the next program: %+v", o)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		wants      []string // substrings of the message
	}{
		{"not a program line", "worker php x\n", 1, []string{"want name: command"}},
		{"bad name", "work.er: x\n", 1, []string{"want name: command"}},
		{"empty command", "a: x\nworker:   \n", 2, []string{"worker", "empty command"}},
		{"duplicate", "a: x\nA: y\n", 2, []string{"already used on line 1"}},
		{"reserved", "PHP-FPM: x\n", 1, []string{"lnmp-init's own"}},
		{"reserved nginx", "nginx: x\n", 1, []string{"lnmp-init's own"}},
		{"a task's name", "pre-start-2: x\n", 1, []string{"lnmp-init's own"}},
		{"unknown key", "# lnmp: stop=TERM\na: x\n", 1, []string{`unknown option "stop"`, "stop-signal, stop-timeout, on-crash, on-exit-0, dir, env"}},
		{"bad signal", "\n# lnmp: stop-signal=SIGFOO\na: x\n", 2, []string{"stop-signal", "TERM, INT, QUIT", `"SIGFOO"`}},
		{"bad timeout", "# lnmp: stop-timeout=30\na: x\n", 1, []string{"stop-timeout", "30s"}},
		{"negative timeout", "# lnmp: stop-timeout=-1s\na: x\n", 1, []string{"above zero"}},
		{"bad on-crash", "# lnmp: on-crash=ignore\na: x\n", 1, []string{"on-crash", "restart or exit", `"ignore"`}},
		{"bad on-exit-0", "# lnmp: on-exit-0=never\na: x\n", 1, []string{"restart or exit or ignore"}},
		{"set twice", "# lnmp: on-crash=exit\n# lnmp: on-crash=restart\na: x\n", 2, []string{"set twice (lines 1 and 2)"}},
		{"env twice", "# lnmp: env=A=1 env=A=2\na: x\n", 1, []string{"A is set twice"}},
		{"bad env", "# lnmp: env=1A=x\na: x\n", 1, []string{"NAME=value"}},
		{"no value", "# lnmp: on-crash\na: x\n", 1, []string{`"on-crash": want key=value`}},
		{"unterminated", "# lnmp: dir=\"/a b\na: x\n", 1, []string{"unterminated quote"}},
		{"quote inside", "# lnmp: dir=a\"b\na: x\n", 1, []string{"quote inside"}},
		{"empty dir", "# lnmp: dir=\na: x\n", 1, []string{"want a directory"}},
		{"dangling at blank", "# lnmp: on-crash=exit\n\na: x\n", 1, []string{"no program below"}},
		{"dangling at end", "a: x\n# lnmp: on-crash=exit\n", 2, []string{"no program below"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("Procfile", []byte(tc.text))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if pe.Line != tc.line {
				t.Errorf("line: got %d, want %d (%v)", pe.Line, tc.line, err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"TERM": unix.SIGTERM, "SIGTERM": unix.SIGTERM, "sigquit": unix.SIGQUIT,
		"15": unix.SIGTERM, "3": unix.SIGQUIT, "Int": unix.SIGINT, "KILL": unix.SIGKILL, "usr2": unix.SIGUSR2} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SIG", "STOP", "9x", "19", "SIGSIGTERM"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) succeeded", in)
		}
	}
}

func TestShellRule(t *testing.T) {
	for _, tc := range []struct {
		text   string
		shell  bool
		reason string
		argv   []string
	}{
		{"php artisan queue:work --sleep=3", false, "", []string{"php", "artisan", "queue:work", "--sleep=3"}},
		{"php\tartisan  horizon", false, "", []string{"php", "artisan", "horizon"}},
		{"/usr/bin/env php -v", false, "", []string{"/usr/bin/env", "php", "-v"}},
		{"node server.js --port=8080 --host=0.0.0.0", false, "", []string{"node", "server.js", "--port=8080", "--host=0.0.0.0"}},
		{"php artisan schedule:run && sleep 60", true, `it holds "&"`, nil},
		{"echo $HOME", true, `it holds "$"`, nil},
		{"php -r 'echo 1;'", true, `it holds "'"`, nil},
		{"ls *.php", true, `it holds "*"`, nil},
		{"cat ~/x", true, `it holds "~"`, nil},
		{"a # comment", true, `it holds "#"`, nil},
		{"APP_ENV=prod php artisan x", true, "it starts with an assignment, APP_ENV=prod", nil},
		{"exec php artisan x", true, "it starts with the shell's exec", nil},
		{"cd /srv", true, "it starts with the shell's cd", nil},
		{"php --define=a=b x", false, "", []string{"php", "--define=a=b", "x"}},
	} {
		c, err := ParseCommand(tc.text)
		if err != nil {
			t.Fatalf("ParseCommand(%q): %v", tc.text, err)
		}
		if c.Shell != tc.shell || c.ShellReason != tc.reason {
			t.Errorf("ParseCommand(%q): shell %v (%q), want %v (%q)", tc.text, c.Shell, c.ShellReason, tc.shell, tc.reason)
		}
		if tc.shell {
			tc.argv = []string{ShellPath, "-c", tc.text}
		}
		if !reflect.DeepEqual(c.Argv(), tc.argv) {
			t.Errorf("ParseCommand(%q): argv %q, want %q", tc.text, c.Argv(), tc.argv)
		}
	}
	if _, err := ParseCommand(" \t "); err == nil {
		t.Error("a blank command parsed")
	}
}

// writeExec writes an executable script.
func writeExec(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestLoadResolves(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "bin", "tool"))
	writeExec(t, filepath.Join(dir, "app", "run"))
	if err := os.WriteFile(filepath.Join(dir, "bin", "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "relative/bin:"+filepath.Join(dir, "bin"))
	procfile := filepath.Join(dir, "Procfile")
	write := func(text string) {
		if err := os.WriteFile(procfile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a: tool x\n# lnmp: dir=app\nb: ./run\nc: tool | cat\n# lnmp: env=PATH=" + filepath.Join(dir, "app") + "\nd: run\n")
	progs, err := Load(procfile)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{filepath.Join(dir, "bin", "tool"), filepath.Join(dir, "app", "run"), ShellPath, filepath.Join(dir, "app", "run")} {
		if progs[i].Path != want {
			t.Errorf("%s: path %q, want %q", progs[i].Name, progs[i].Path, want)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"a: nosuch x\n", "Procfile:1: a: nosuch: not found in PATH"},
		{"a: x\nb: plain\n", "Procfile:1: a: x: not found"},
		{"b: plain\n", "b: plain: not found"},
		{"# lnmp: dir=nodir\nb: tool\n", "Procfile:2: b: dir " + filepath.Join(dir, "nodir") + ": not a directory"},
		{"# lnmp: dir=app\nb: run\n", "b: run: not found"}, // dir does not change the PATH lookup
		{"b: ./tool\n", "b: " + filepath.Join(dir, "tool") + ": not an executable file"},
	} {
		write(tc.text)
		_, err := Load(procfile)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q): got %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestSplitPreStart(t *testing.T) {
	got := SplitPreStart("  php artisan migrate --force\n\n# a comment\nphp artisan config:cache && php artisan route:cache\r\n")
	want := []string{"php artisan migrate --force", "php artisan config:cache && php artisan route:cache"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := SplitPreStart(""); got != nil {
		t.Errorf("empty: got %q", got)
	}
}

func TestPreStart(t *testing.T) {
	tasks, err := PreStart([]string{"true", "echo a; echo b"})
	if err != nil {
		t.Fatal(err)
	}
	if tasks[0].Name != "pre-start-1" || tasks[0].Shell || !filepath.IsAbs(tasks[0].Path) {
		t.Errorf("task 1: %+v", tasks[0])
	}
	if tasks[1].Name != "pre-start-2" || !tasks[1].Shell {
		t.Errorf("task 2: %+v", tasks[1])
	}
	_, err = PreStart([]string{"true", "no-such-program-here x"})
	if err == nil || !strings.Contains(err.Error(), `task 2 ("no-such-program-here x"): no-such-program-here: not found in PATH`) {
		t.Errorf("got %v", err)
	}
}

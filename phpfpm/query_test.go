package phpfpm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name, out string
		want      []string
	}{
		{
			// error_log = /proc/self/fd/2 makes php-fpm print each line twice.
			name: "doubled",
			out: "[22-Nov-2026 05:28:54] ALERT: [pool www] no listen address have been defined!\n" +
				"[22-Nov-2026 05:28:54] ALERT: [pool www] no listen address have been defined!\n" +
				"[22-Nov-2026 05:28:54] WARNING: Nothing matches the include pattern\n" +
				"[22-Nov-2026 05:28:54] ERROR: FPM initialization failed\n",
			want: []string{"ALERT: [pool www] no listen address have been defined!", "ERROR: FPM initialization failed"},
		},
		{
			name: "ini syntax",
			out:  "PHP:  syntax error, unexpected '=' in Unknown on line 1\n[01-Jan-2026 00:00:00] ERROR: failed to load configuration file 'x'\n",
			want: []string{"PHP: syntax error, unexpected '=' in Unknown on line 1", "ERROR: failed to load configuration file 'x'"},
		},
		{
			name: "nothing recognised",
			out:  "1\n2\n3\n4\n5\n6\nSegmentation fault\n",
			want: []string{"3", "4", "5", "6", "Segmentation fault"},
		},
		{name: "empty", out: "", want: nil},
	}
	for _, tt := range tests {
		if got := errorLines(tt.out); !slices.Equal(got, tt.want) {
			t.Errorf("%s: errorLines = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestValidateFake(t *testing.T) {
	var args []string
	exit := errors.New("exit status 78")
	run := func(_ context.Context, cmd *exec.Cmd) ([]byte, error) {
		args = cmd.Args
		return []byte("[x] ERROR: [/c.conf:3] unknown entry 'lisen'\n"), exit
	}
	err := Validate(context.Background(), run, "/usr/sbin/php-fpm8.2", "/c.conf")
	if want := []string{"/usr/sbin/php-fpm8.2", "-t", "-y", "/c.conf"}; !slices.Equal(args, want) {
		t.Errorf("ran %q, want %q", args, want)
	}
	var verr *ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, exit) {
		t.Fatalf("Validate = %v; want a *ValidationError wrapping the run error", err)
	}
	if want := "php-fpm -t -y /c.conf: ERROR: [/c.conf:3] unknown entry 'lisen'"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	ok := func(context.Context, *exec.Cmd) ([]byte, error) { return []byte("NOTICE: test is successful\n"), nil }
	if err := Validate(context.Background(), ok, "php-fpm", "/c.conf"); err != nil {
		t.Errorf("Validate on success = %v", err)
	}
}

func TestValidateReal(t *testing.T) {
	bin := realBinary(t)
	dir := writeTree(t, t.TempDir(), map[string]string{
		"good.conf":     "[global]\nerror_log = /proc/self/fd/2\n[www]\n" + poolBoilerplate + "listen = 127.0.0.1:9000\n",
		"nolisten.conf": "[global]\nerror_log = /proc/self/fd/2\n[www]\n" + poolBoilerplate,
		"syntax.conf":   "[global]\nerror_log = /dev/null\n[www]\n" + poolBoilerplate + "listen = a=b\n",
	})
	if err := Validate(context.Background(), combined, bin, filepath.Join(dir, "good.conf")); err != nil {
		t.Errorf("Validate(good.conf) = %v", err)
	}
	tests := []struct{ file, want string }{
		{"nolisten.conf", "ALERT: [pool www] no listen address have been defined!"},
		{"syntax.conf", "PHP: syntax error, unexpected '=' in Unknown on line 1"},
		{"missing.conf", "ERROR: failed to open configuration file"},
	}
	for _, tt := range tests {
		err := Validate(context.Background(), combined, bin, filepath.Join(dir, tt.file))
		var verr *ValidationError
		if !errors.As(err, &verr) {
			t.Errorf("Validate(%s) = %v; want a *ValidationError", tt.file, err)
			continue
		}
		if len(verr.Lines) == 0 || !strings.HasPrefix(verr.Lines[0], tt.want) {
			t.Errorf("Validate(%s) lines %q; want the first to start with %q", tt.file, verr.Lines, tt.want)
		}
		seen := make(map[string]bool)
		for _, l := range verr.Lines {
			if seen[l] {
				t.Errorf("Validate(%s) repeats %q", tt.file, l)
			}
			seen[l] = true
		}
		t.Logf("%s: %v", tt.file, err)
	}
}

// phpinfo is the part of php-fpm -i's output IniPaths reads.
func phpinfo(ini, scan string) string {
	return "phpinfo()\nPHP Version => 8.2.36\n\nConfiguration File (php.ini) Path => /etc/php/8.2/fpm\n" +
		"Loaded Configuration File => " + ini + "\nScan this dir for additional .ini files => " + scan +
		"\nAdditional .ini files parsed => (none)\n"
}

func TestIniPathsFake(t *testing.T) {
	tests := []struct {
		name, ini, scan, builtin string
		wantIni                  string
		wantDirs                 []string
	}{
		{name: "debian", ini: "/etc/php/8.2/fpm/php.ini", scan: "/etc/php/8.2/fpm/conf.d",
			wantIni: "/etc/php/8.2/fpm/php.ini", wantDirs: []string{"/etc/php/8.2/fpm/conf.d"}},
		{name: "none", ini: "(none)", scan: "(none)"},
		{name: "several", ini: "(none)", scan: "/a:/b:/a", wantDirs: []string{"/a", "/b"}},
		{name: "builtin first", ini: "/php.ini", scan: ":/extra", builtin: "/usr/local/etc/php/conf.d",
			wantIni: "/php.ini", wantDirs: []string{"/usr/local/etc/php/conf.d", "/extra"}},
		{name: "no builtin", ini: "/php.ini", scan: "/extra:", builtin: "(none)",
			wantIni: "/php.ini", wantDirs: []string{"/extra"}},
	}
	for _, tt := range tests {
		run := func(_ context.Context, cmd *exec.Cmd) ([]byte, error) {
			if cmd.Env != nil && !slices.ContainsFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, scanDirEnv+"=") }) {
				return []byte(phpinfo(tt.ini, tt.builtin)), nil
			}
			return []byte(phpinfo(tt.ini, tt.scan)), nil
		}
		ini, dirs, err := IniPaths(context.Background(), run, "php-fpm")
		if err != nil || ini != tt.wantIni || !slices.Equal(dirs, tt.wantDirs) {
			t.Errorf("%s: IniPaths = %q, %q, %v; want %q, %q", tt.name, ini, dirs, err, tt.wantIni, tt.wantDirs)
		}
	}
	garbage := func(context.Context, *exec.Cmd) ([]byte, error) { return []byte("<html>"), nil }
	if _, _, err := IniPaths(context.Background(), garbage, "php-fpm"); err == nil {
		t.Error("IniPaths accepted output without the phpinfo lines")
	}
}

func TestIniPathsReal(t *testing.T) {
	bin := realBinary(t)
	// t.Setenv first, so that the cleanup restores what os.Unsetenv removes.
	t.Setenv(scanDirEnv, "")
	os.Unsetenv(scanDirEnv)
	ini, dirs, err := IniPaths(context.Background(), combined, bin)
	if err != nil {
		t.Fatalf("IniPaths: %v", err)
	}
	t.Logf("%s: php.ini %q, scan dirs %q", bin, ini, dirs)
	if ini != "" && !filepath.IsAbs(ini) || len(dirs) > 1 {
		t.Fatalf("IniPaths = %q, %q; want an absolute php.ini or none, and at most the builtin scan dir", ini, dirs)
	}
	extra := t.TempDir()
	t.Setenv(scanDirEnv, ":"+extra)
	_, got, err := IniPaths(context.Background(), combined, bin)
	if want := append(slices.Clone(dirs), extra); err != nil || !slices.Equal(got, want) {
		t.Errorf("with %s=:%s, IniPaths dirs = %q, %v; want %q", scanDirEnv, extra, got, err, want)
	}
}

package nginx

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"daemon unset", Config{Path: "n.conf", AbsPath: "/etc/n.conf"}, []string{"-c", "/etc/n.conf", "-g", "daemon off;"}},
		{"daemon set", Config{Path: "n.conf", AbsPath: "/etc/n.conf", SetsDaemon: true}, []string{"-c", "/etc/n.conf"}},
		{"built by hand", Config{Path: "/x/n.conf"}, []string{"-c", "/x/n.conf", "-g", "daemon off;"}},
	}
	for _, tt := range tests {
		if got := Args(&tt.cfg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Args = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "nginx")
	notExe := filepath.Join(dir, "nginx.txt")
	for name, mode := range map[string]os.FileMode{exe: 0o755, notExe: 0o644} {
		if err := os.WriteFile(name, nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	inPath := func(string) (string, error) { return "/bin/nginx", nil }
	notInPath := func(string) (string, error) { return "", exec.ErrNotFound }

	if got, err := findBinary(inPath, []string{exe}); err != nil || got != "/bin/nginx" {
		t.Errorf("in PATH: %q, %v; want /bin/nginx", got, err)
	}
	if got, err := findBinary(notInPath, []string{notExe, dir, exe}); err != nil || got != exe {
		t.Errorf("fallback: %q, %v; want %s", got, err, exe)
	}
	_, err := findBinary(notInPath, []string{notExe, "/nonexistent/nginx"})
	if err == nil || !errors.Is(err, exec.ErrNotFound) ||
		!strings.Contains(err.Error(), "not in PATH") || !strings.Contains(err.Error(), "/nonexistent/nginx") {
		t.Errorf("nothing found: error %v, want one wrapping exec.ErrNotFound and naming the paths tried", err)
	}
}

func TestProblems(t *testing.T) {
	out := `nginx: the configuration file /c syntax is ok
2026/11/22 05:28:29 [warn] 12509#12509: the "user" directive makes sense only if the master process runs with super-user privileges
2026/11/22 05:28:29 [emerg] 12507#12507: open() "/run/nginx.pid" failed (13: Permission denied)
nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)
nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed (13: Permission denied)
nginx: configuration file /c test failed
`
	want := []string{
		`[emerg] open() "/run/nginx.pid" failed (13: Permission denied)`,
		`[emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)`,
		`[alert] could not open error log file: open() "/var/log/nginx/error.log" failed (13: Permission denied)`,
	}
	if got := problems(out); !reflect.DeepEqual(got, want) {
		t.Errorf("problems =\n%q\nwant\n%q", got, want)
	}
}

func TestValidateFakeRun(t *testing.T) {
	cfg := &Config{Path: "/etc/nginx/nginx.conf", AbsPath: "/etc/nginx/nginx.conf"}
	exitErr := errors.New("exit status 1")
	tests := []struct {
		name    string
		out     string
		err     error
		wantErr string
	}{
		{name: "ok", out: "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"},
		{
			name:    "emerg",
			out:     "2026/11/22 05:27:57 [emerg] 1#1: unknown directive \"x\" in /etc/nginx/nginx.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n",
			err:     exitErr,
			wantErr: `/usr/sbin/nginx -t -c /etc/nginx/nginx.conf -g 'daemon off;': [emerg] unknown directive "x" in /etc/nginx/nginx.conf:3: exit status 1`,
		},
		{name: "no level lines", out: "killed\n", err: exitErr, wantErr: ": killed: exit status 1"},
		{name: "no output", err: exitErr, wantErr: "'daemon off;': exit status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotArgs []string
			run := func(_ context.Context, c *exec.Cmd) ([]byte, error) {
				gotArgs = c.Args
				return []byte(tt.out), tt.err
			}
			err := Validate(context.Background(), run, "/usr/sbin/nginx", cfg)
			wantArgs := []string{"/usr/sbin/nginx", "-t", "-c", "/etc/nginx/nginx.conf", "-g", "daemon off;"}
			if !reflect.DeepEqual(gotArgs, wantArgs) {
				t.Errorf("ran %q, want %q", gotArgs, wantArgs)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) || !errors.Is(err, exitErr) {
				t.Errorf("Validate error = %v, want one ending in %q and wrapping the run error", err, tt.wantErr)
			}
		})
	}
	if err := Validate(context.Background(), nil, "nginx", cfg); err == nil {
		t.Error("Validate with a nil run succeeded, want an error")
	}
}

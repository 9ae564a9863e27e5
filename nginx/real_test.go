package nginx

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// These tests run the installed nginx. They pass as root and as an
// unprivileged user (checked as uid 33), because every file nginx -t opens
// or creates is inside the test's directory.

// nginxOrSkip returns the nginx binary, or skips the test when there is none.
func nginxOrSkip(t *testing.T) string {
	t.Helper()
	bin, err := FindBinary()
	if err != nil {
		testenv.SkipOrFail(t, "nginx is not installed, so its behaviour cannot be checked: %v", err)
	}
	return bin
}

// combined is the run function Validate gets in tests, where no reaper
// competes for the child's exit status.
func combined(_ context.Context, c *exec.Cmd) ([]byte, error) { return c.CombinedOutput() }

// sandboxed writes a main.conf under a new directory, with daemon on its
// line 1 and servers on line 12 inside http{}, and directives that keep
// nginx's pid file, logs and temp directories in that directory; then it
// writes files there too, and returns the directory.
func sandboxed(t *testing.T, daemon, servers string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var temps []string
	for _, module := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temps = append(temps, module+"_temp_path "+filepath.Join(dir, module)+";")
	}
	main := strings.Join([]string{
		daemon,
		"pid " + filepath.Join(dir, "nginx.pid") + ";",
		"error_log " + filepath.Join(dir, "error.log") + ";",
		"events {}",
		"http {",
		"access_log " + filepath.Join(dir, "access.log") + ";",
		strings.Join(temps, "\n"),
		servers,
		"}",
	}, "\n") + "\n"
	writeFiles(t, dir, map[string]string{"main.conf": main})
	writeFiles(t, dir, files)
	return dir
}

func TestValidateRealNginx(t *testing.T) {
	bin := nginxOrSkip(t)
	server := "server { listen 127.0.0.1:18999; }"
	tests := []struct {
		name, daemon, servers string
		files                 map[string]string
		wantErr               string // DIR stands for the test's directory.
	}{
		{name: "valid", servers: server},
		// Validate must not add -g "daemon off;" here, or nginx refuses it.
		{name: "valid with daemon off", daemon: "daemon off;", servers: server},
		{name: "unknown directive", servers: "bogus on;", wantErr: `[emerg] unknown directive "bogus" in DIR/main.conf:12`},
		{name: "missing semicolon", servers: "server { listen 127.0.0.1:18999 }",
			wantErr: `[emerg] unexpected "}" in DIR/main.conf:12`},
		{name: "glob matching a directory", servers: "include d*;", files: map[string]string{"dir/x": ""},
			wantErr: `[crit] pread() "DIR/dir" failed (21: Is a directory)`},
		{name: "error in an included file", servers: "include sites/*;", files: map[string]string{"sites/a": "server {\n listen nope:-1;\n}"},
			wantErr: `[emerg] invalid port in "nope:-1" of the "listen" directive in DIR/sites/a:2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := sandboxed(t, tt.daemon, tt.servers, tt.files)
			// Validate needs only what Args needs, so a Config that Load
			// could not make still gets nginx's own verdict.
			cfg := &Config{Path: filepath.Join(dir, "main.conf"), SetsDaemon: tt.daemon != ""}
			err := Validate(context.Background(), combined, bin, cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			want := strings.ReplaceAll(tt.wantErr, "DIR", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Validate error = %v, want it to contain %q", err, want)
			}
			t.Logf("nginx said: %v", err)
		})
	}
}

// TestRealNginxRefusesDuplicateDaemon shows why Args leaves out
// -g "daemon off;" when the configuration sets daemon.
func TestRealNginxRefusesDuplicateDaemon(t *testing.T) {
	bin := nginxOrSkip(t)
	dir := sandboxed(t, "daemon off;", "", nil)
	out, err := exec.Command(bin, "-t", "-c", filepath.Join(dir, "main.conf"), "-g", "daemon off;").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `"daemon" directive is duplicate in `+filepath.Join(dir, "main.conf")+":1") {
		t.Fatalf("nginx -t with daemon in the config and in -g: err %v, output %s; want the duplicate error", err, out)
	}
}

// dumpedFiles returns the files nginx -T says it read, in its order, or
// nginx's output when it fails.
func dumpedFiles(bin, conf string) ([]string, string, error) {
	out, err := exec.Command(bin, "-T", "-c", conf).CombinedOutput()
	if err != nil {
		return nil, string(out), err
	}
	var files []string
	for line := range strings.Lines(string(out)) {
		if name, ok := strings.CutPrefix(line, "# configuration file "); ok {
			files = append(files, strings.TrimSuffix(strings.TrimSpace(name), ":"))
		}
	}
	return files, "", nil
}

func TestFilesMatchRealNginx(t *testing.T) {
	bin := nginxOrSkip(t)
	// The decoy is what a reader resolving includes against the including
	// file's directory would read; the swap file is what filepath.Glob alone
	// would read.
	dir := sandboxed(t, "", "include sites/*.conf; include none/*.conf;", map[string]string{
		"sites/b.conf":          "server { listen 127.0.0.1:18998; include snippets/s.conf; }",
		"sites/a-b.conf":        "server { listen 127.0.0.1:18997; }",
		"sites/a.conf":          "server { listen 127.0.0.1:18996; include snippets/s.conf; }",
		"sites/.a.conf":         "this is not nginx syntax {",
		"snippets/s.conf":       "location /s { return 204; }",
		"sites/snippets/s.conf": "decoy;",
	})
	main := filepath.Join(dir, "main.conf")
	cfg, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	want, out, err := dumpedFiles(bin, main)
	if err != nil {
		t.Fatalf("nginx -T: %v: %s", err, out)
	}
	if !reflect.DeepEqual(cfg.Files, want) {
		t.Errorf("Files = %q\nnginx -T read %q", cfg.Files, want)
	}
}

func TestLoadDebianConfig(t *testing.T) {
	site := "/etc/nginx/sites-enabled/default"
	if _, err := os.Stat(site); err != nil {
		t.Skipf("no Debian default site to check against: %v", err)
	}
	cfg, err := Load(DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/etc/nginx/modules-enabled/*.conf", "/etc/nginx/sites-enabled/*"} {
		if !strings.Contains(strings.Join(cfg.Includes, "\n"), want) {
			t.Errorf("Includes = %q, want %s among them", cfg.Includes, want)
		}
	}
	var listens []string
	for _, a := range cfg.Listens {
		listens = append(listens, a.String())
	}
	for _, want := range []string{"127.0.0.1:80", "[::1]:80"} {
		if !strings.Contains(strings.Join(listens, " "), want) {
			t.Errorf("Listens = %q, want %s among them (from listen 80 and [::]:80 in %s)", listens, want, site)
		}
	}
	// nginx -T needs the pid file's directory to be writable, so as an
	// unprivileged user this half is left out.
	bin := nginxOrSkip(t)
	want, out, err := dumpedFiles(bin, DefaultConfig)
	if err != nil {
		testenv.SkipOrFail(t, "nginx -T -c %s failed, so its file list cannot be compared: %v: %s", DefaultConfig, err, out)
	}
	if !reflect.DeepEqual(cfg.Files, want) {
		t.Errorf("Files = %q\nnginx -T read %q", cfg.Files, want)
	}
}

// TestSyntaxErrorsMatchRealNginx checks that Load rejects what nginx rejects
// with nginx's own message and line.
func TestSyntaxErrorsMatchRealNginx(t *testing.T) {
	bin := nginxOrSkip(t)
	tests := []struct {
		name, servers string
		files         map[string]string
	}{
		{name: "stray brace", servers: "}\n}"},
		{name: "word after quote", servers: `server { return 200 "a"b; }`},
		{name: "comment after quote", servers: `server { return 200 "a"#b; }`},
		{name: "unterminated quote", servers: `server { return 200 "a; }`},
		{name: "comment swallows brace", servers: "server { listen 127.0.0.1:18995; # }"},
		{name: "lone semicolon", servers: "server { ; }"},
		{name: "open block in include", servers: "include a.conf;", files: map[string]string{"a.conf": "\nserver {\n"}},
		{name: "close block in include", servers: "include a.conf;", files: map[string]string{"a.conf": "}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := sandboxed(t, "", tt.servers, tt.files)
			main := filepath.Join(dir, "main.conf")
			_, loadErr := Load(main)
			nginxErr := Validate(context.Background(), combined, bin, &Config{Path: main})
			if loadErr == nil || nginxErr == nil {
				t.Fatalf("Load: %v; nginx -t: %v; want both to fail", loadErr, nginxErr)
			}
			_, nginxMsg, _ := strings.Cut(nginxErr.Error(), "[emerg] ")
			nginxMsg, _, _ = strings.Cut(nginxMsg, ": exit status")
			if !strings.HasSuffix(loadErr.Error(), nginxMsg) {
				t.Errorf("Load error %q does not end in nginx's %q", loadErr, nginxMsg)
			}
		})
	}
}

// TestRenderedConfigIsEquivalent: the one-file rendering of a config that
// includes files, quotes, regexes, variables and a relative certificate
// path is accepted by the real nginx, and its -T dump holds the same
// directives as the original's.
func TestRenderedConfigIsEquivalent(t *testing.T) {
	bin := nginxOrSkip(t)
	dir := t.TempDir()
	files := map[string]string{
		"main.conf": "pid " + dir + "/nginx.pid;\nerror_log stderr;\nevents { worker_connections 16; }\n" +
			"http {\n    include inc/*.conf;\n    access_log off;\n" +
			"    map $uri $flag { default 0; \"~^/a b\" 1; \"\" 2; }\n" +
			"    client_body_temp_path " + dir + "/body;\n}\n",
		"inc/a.conf": "server {\n    listen 127.0.0.1:18081;\n    location ~ \\.php$ { return 200 \"it's \\\"quoted\\\" $uri\"; }\n" +
			"    location = /x { add_header X-A 'single \"q\"' always; return 204; }\n    auth_basic off;\n}\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	flat := filepath.Join(t.TempDir(), "flat.conf")
	if err := os.WriteFile(flat, cfg.Text, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Load(flat)
	if err != nil {
		t.Fatalf("the rendering does not parse: %v\n%s", err, cfg.Text)
	}
	if !bytes.Equal(again.Text, cfg.Text) {
		t.Errorf("rendering its own rendering changes it:\n%s\n---\n%s", cfg.Text, again.Text)
	}
	if out, err := exec.Command(bin, "-t", "-c", flat).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t refuses the rendering: %v\n%s\n%s", err, out, cfg.Text)
	}
}

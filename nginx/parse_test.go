package nginx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree writes files (relative name -> content) under a new temporary
// directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}

// writeFiles writes each file, by path relative to dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// abs prefixes each name with dir.
func abs(dir string, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

func TestLoadIncludes(t *testing.T) {
	tests := []struct {
		name         string
		files        map[string]string
		wantFiles    []string // Relative to the tree; the main file is main.conf.
		wantIncludes []string // Relative to the tree unless absolute.
		wantPid      string
		wantErr      string
	}{
		{
			name:         "relative",
			files:        map[string]string{"main.conf": "include a.conf;", "a.conf": "pid from-a;"},
			wantFiles:    []string{"main.conf", "a.conf"},
			wantIncludes: []string{"a.conf"},
			wantPid:      "from-a",
		},
		{
			name: "nested relative resolves against the main file's directory",
			files: map[string]string{
				"main.conf":       "include inc/*.conf;",
				"inc/one.conf":    "include snip/s.conf;",
				"snip/s.conf":     "pid top-level-snip;",
				"inc/snip/s.conf": "pid wrong;",
			},
			wantFiles:    []string{"main.conf", "inc/one.conf", "snip/s.conf"},
			wantIncludes: []string{"inc/*.conf", "snip/s.conf"},
			wantPid:      "top-level-snip",
		},
		{
			name:         "glob matching nothing is fine",
			files:        map[string]string{"main.conf": "include none/*.conf; pid p;"},
			wantFiles:    []string{"main.conf"},
			wantIncludes: []string{"none/*.conf"},
			wantPid:      "p",
		},
		{
			name: "glob sorts whole paths and skips dot files",
			files: map[string]string{
				"main.conf": "http { include d/*.conf; }", "d/b.conf": "", "d/a.conf": "",
				"d/a-b.conf": "", "d/.hidden.conf": "", "d/c.txt": "",
			},
			wantFiles:    []string{"main.conf", "d/a-b.conf", "d/a.conf", "d/b.conf"},
			wantIncludes: []string{"d/*.conf"},
		},
		{
			name:         "explicit dot pattern matches dot files",
			files:        map[string]string{"main.conf": "include d/.*.conf;", "d/.x.conf": "", "d/y.conf": ""},
			wantFiles:    []string{"main.conf", "d/.x.conf"},
			wantIncludes: []string{"d/.*.conf"},
		},
		{
			name:         "negated class",
			files:        map[string]string{"main.conf": "include d/[!b]*;", "d/a": "", "d/b": ""},
			wantFiles:    []string{"main.conf", "d/a"},
			wantIncludes: []string{"d/[!b]*"},
		},
		{
			name:         "same file twice is listed once",
			files:        map[string]string{"main.conf": "http { server { include s; } server { include s; } }", "s": "listen 81;"},
			wantFiles:    []string{"main.conf", "s"},
			wantIncludes: []string{"s"},
		},
		{
			name:    "missing plain file is an error",
			files:   map[string]string{"main.conf": "\ninclude missing.conf;"},
			wantErr: `include "missing.conf" in MAIN:2: open DIR/missing.conf: no such file or directory`,
		},
		{
			name:    "glob matching a directory",
			files:   map[string]string{"main.conf": "include d*;", "d/x": ""},
			wantErr: `include "d*" in MAIN:1: DIR/d: not a regular file (a directory)`,
		},
		{
			name:    "included file leaves a block open",
			files:   map[string]string{"main.conf": "http { include a; }", "a": "server {\n"},
			wantErr: `unexpected end of file, expecting "}" in DIR/a:2`,
		},
		{
			name:    "included file closes the outer block",
			files:   map[string]string{"main.conf": "http {\ninclude a;\n}", "a": "}"},
			wantErr: `unexpected "}" in DIR/a:1`,
		},
		{
			name:    "main file unbalanced",
			files:   map[string]string{"main.conf": "events {}\nhttp {\n"},
			wantErr: `unexpected end of file, expecting "}" in MAIN:3`,
		},
		{
			name:    "stray closing brace",
			files:   map[string]string{"main.conf": "events {}\n}\n"},
			wantErr: `unexpected "}" in MAIN:2`,
		},
		{
			name:    "include loop",
			files:   map[string]string{"main.conf": "include a;", "a": "include main.conf;"},
			wantErr: "nested includes, does a file include itself?",
		},
		{
			name:    "include without argument",
			files:   map[string]string{"main.conf": "include;"},
			wantErr: `invalid number of arguments in "include" directive in MAIN:1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			main := filepath.Join(dir, "main.conf")
			cfg, err := Load(main)
			if tt.wantErr != "" {
				want := strings.NewReplacer("MAIN", main, "DIR", dir).Replace(tt.wantErr)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("Load error = %v, want it to contain %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if want := abs(dir, tt.wantFiles...); !reflect.DeepEqual(cfg.Files, want) {
				t.Errorf("Files = %q, want %q", cfg.Files, want)
			}
			if want := abs(dir, tt.wantIncludes...); !reflect.DeepEqual(cfg.Includes, want) {
				t.Errorf("Includes = %q, want %q", cfg.Includes, want)
			}
			if cfg.PidFile != tt.wantPid {
				t.Errorf("PidFile = %q, want %q", cfg.PidFile, tt.wantPid)
			}
		})
	}
}

func TestLoadAbsoluteIncludeAndRelativeMain(t *testing.T) {
	other := writeTree(t, map[string]string{"abs.conf": "worker_shutdown_timeout 5s;"})
	dir := writeTree(t, map[string]string{"main.conf": "include " + filepath.Join(other, "abs.conf") + ";"})
	t.Chdir(dir)
	cfg, err := Load("main.conf")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != "main.conf" || cfg.AbsPath != filepath.Join(dir, "main.conf") {
		t.Errorf("Path, AbsPath = %q, %q; want main.conf, %s", cfg.Path, cfg.AbsPath, filepath.Join(dir, "main.conf"))
	}
	if want := []string{filepath.Join(dir, "main.conf"), filepath.Join(other, "abs.conf")}; !reflect.DeepEqual(cfg.Files, want) {
		t.Errorf("Files = %q, want %q", cfg.Files, want)
	}
	if cfg.WorkerShutdownTimeout.Seconds() != 5 {
		t.Errorf("WorkerShutdownTimeout = %v, want 5s", cfg.WorkerShutdownTimeout)
	}
}

func TestLoadMissingMain(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.conf"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want a not-exist error", err)
	}
}

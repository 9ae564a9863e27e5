package phpfpm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// touch creates an empty file with mode perm, and its directory.
func touch(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, perm); err != nil {
		t.Fatal(err)
	}
}

func TestFindBinaryIn(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]os.FileMode // Relative to the fixture; first dir is "a", second "b".
		want  string                 // Relative; "" means not found.
	}{
		{name: "plain wins over versioned", files: map[string]os.FileMode{"b/php-fpm": 0o755, "a/php-fpm8.3": 0o755}, want: "b/php-fpm"},
		{name: "plain in first dir", files: map[string]os.FileMode{"a/php-fpm": 0o755, "b/php-fpm": 0o755}, want: "a/php-fpm"},
		{name: "newest debian", files: map[string]os.FileMode{"a/php-fpm8.1": 0o755, "b/php-fpm8.3": 0o755, "a/php-fpm7.4": 0o755}, want: "b/php-fpm8.3"},
		{name: "minor compared as a number", files: map[string]os.FileMode{"a/php-fpm8.9": 0o755, "a/php-fpm8.10": 0o755}, want: "a/php-fpm8.10"},
		{name: "newest alpine", files: map[string]os.FileMode{"a/php-fpm82": 0o755, "a/php-fpm84": 0o755, "a/php-fpm7": 0o755}, want: "a/php-fpm84"},
		{name: "mixed", files: map[string]os.FileMode{"a/php-fpm8.2": 0o755, "b/php-fpm83": 0o755}, want: "b/php-fpm83"},
		{name: "tie goes to the earlier dir", files: map[string]os.FileMode{"a/php-fpm8.3": 0o755, "b/php-fpm83": 0o755}, want: "a/php-fpm8.3"},
		{name: "not executable", files: map[string]os.FileMode{"a/php-fpm": 0o644, "a/php-fpm8.4": 0o644, "b/php-fpm8.1": 0o755}, want: "b/php-fpm8.1"},
		{name: "look-alikes", files: map[string]os.FileMode{"a/php-fpm.conf": 0o755, "a/php-fpm8.2.bak": 0o755, "a/php-fpm-exporter": 0o755}},
		{name: "nothing", files: map[string]os.FileMode{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, perm := range tt.files {
				touch(t, filepath.Join(root, name), perm)
			}
			dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "missing")}
			got, err := findBinary(dirs)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), dirs[0]) || !strings.Contains(err.Error(), "php-fpmXY") {
					t.Errorf("findBinary = %q, %v; want an error naming what was searched", got, err)
				}
				return
			}
			if want := filepath.Join(root, tt.want); err != nil || got != want {
				t.Errorf("findBinary = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestSearchDirs(t *testing.T) {
	got := searchDirs("/usr/local/bin:relative::/usr/sbin/:/opt/bin")
	want := []string{"/usr/local/bin", "/usr/sbin", "/opt/bin", "/usr/local/sbin", "/sbin"}
	if !slices.Equal(got, want) {
		t.Errorf("searchDirs = %q, want %q", got, want)
	}
}

func TestDefaultConfig(t *testing.T) {
	root := t.TempDir()
	touch(t, root+"/opt/php/sbin/php-fpm", 0o755)
	touch(t, root+"/opt/php/etc/php-fpm.conf", 0o644)
	touch(t, root+"/usr/sbin/php-fpm8.1", 0o755)
	if err := os.Symlink(root+"/usr/sbin/php-fpm8.1", root+"/usr/sbin/php-fpm"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ bin, want string }{
		{"/usr/local/sbin/php-fpm", "/usr/local/etc/php-fpm.conf"},
		{"/usr/sbin/php-fpm8.2", "/etc/php/8.2/fpm/php-fpm.conf"},
		{"/usr/bin/php-fpm8.3", "/etc/php/8.3/fpm/php-fpm.conf"},
		{"/usr/sbin/php-fpm83", "/etc/php83/php-fpm.conf"},
		{"/usr/sbin/php-fpm7", "/etc/php7/php-fpm.conf"},
		{"/usr/sbin/php-fpm", "/etc/php-fpm.conf"},
		{root + "/opt/php/sbin/php-fpm", root + "/opt/php/etc/php-fpm.conf"},
		{root + "/usr/sbin/php-fpm", "/etc/php/8.1/fpm/php-fpm.conf"}, // Debian alternatives link.
	}
	for _, tt := range tests {
		if got := DefaultConfig(tt.bin); got != tt.want {
			t.Errorf("DefaultConfig(%q) = %q, want %q", tt.bin, got, tt.want)
		}
	}
}

func TestPrefix(t *testing.T) {
	root := t.TempDir()
	touch(t, root+"/usr/sbin/php-fpm8.2", 0o755)
	if err := os.Symlink("usr/sbin", root+"/sbin"); err != nil { // Merged /usr.
		t.Fatal(err)
	}
	tests := []struct{ bin, want string }{
		{"/usr/local/sbin/php-fpm", "/usr/local"},
		{"/usr/sbin/php-fpm8.2", "/usr"},
		{root + "/sbin/php-fpm8.2", root + "/usr"},
	}
	for _, tt := range tests {
		if got := Prefix(tt.bin); got != tt.want {
			t.Errorf("Prefix(%q) = %q, want %q", tt.bin, got, tt.want)
		}
	}
}

func TestCompiledPrefixOracle(t *testing.T) {
	help := "Usage: php [-n] [-e] [-h]\n  -p, --prefix <dir>\n" +
		"                   Specify alternative prefix path to FastCGI process manager (default: /usr/local).\n" +
		"  -R, --allow-to-run-as-root\n                   Allow pool to run as root (disabled by default)\n"
	fake := func(out string, err error) Runner {
		return func(context.Context, *exec.Cmd) ([]byte, error) { return []byte(out), err }
	}
	if got, err := compiledPrefix(fake(help, nil), "php-fpm"); err != nil || got != "/usr/local" {
		t.Errorf("compiledPrefix = %q, %v; want /usr/local", got, err)
	}
	if _, err := compiledPrefix(fake("Usage: php\n", nil), "php-fpm"); err == nil {
		t.Error("compiledPrefix succeeded on help without a prefix")
	}
	boom := errors.New("boom")
	if _, err := compiledPrefix(fake("", boom), "php-fpm"); !errors.Is(err, boom) {
		t.Errorf("compiledPrefix error %v does not wrap the run error", err)
	}

	bin := realBinary(t)
	got, err := compiledPrefix(combined, bin)
	if err != nil || got != Prefix(bin) {
		t.Errorf("compiledPrefix(%s) = %q, %v; Prefix guesses %q", bin, got, err, Prefix(bin))
	}
}

// compiledPrefix asks bin for its compiled-in prefix, which its -h text
// shows as "(default: /usr)", running the command through run (which returns
// the combined output). It is the authority Prefix guesses at, and the oracle of its test.
func compiledPrefix(run Runner, bin string) (string, error) {
	out, err := run(context.Background(), exec.Command(bin, "-h"))
	if err != nil {
		return "", fmt.Errorf("%s -h: %w", bin, err)
	}
	for line := range strings.Lines(string(out)) {
		if !strings.Contains(line, "prefix") {
			continue
		}
		_, rest, ok := strings.Cut(line, "(default: ")
		if p, _, closed := strings.Cut(rest, ")"); ok && closed && p != "" {
			return p, nil
		}
	}
	return "", errors.New(bin + " -h: no \"(default: PREFIX)\" in the prefix option's help")
}

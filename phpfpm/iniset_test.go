package phpfpm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadIniSetInPHPOrder: php.ini, then each scan directory's *.ini by
// name, symlinks followed (a ConfigMap volume), the rest skipped.
func TestReadIniSetInPHPOrder(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"php.ini":             "memory_limit = 64M\n",
		"a/20-b.ini":          "b\n",
		"a/10-a.ini":          "a\n",
		"a/readme.txt":        "not read\n",
		"a/sub.ini/x":         "a directory named .ini\n",
		"b/..data/00-cm.ini":  "cm\n",
		"b/..data/ignore.txt": "",
	})
	if err := os.Symlink("..data/00-cm.ini", filepath.Join(dir, "b/00-cm.ini")); err != nil {
		t.Fatal(err)
	}
	set, err := ReadIniSet(filepath.Join(dir, "php.ini"), []string{filepath.Join(dir, "a"), filepath.Join(dir, "missing"), filepath.Join(dir, "b")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range set.Scanned {
		got = append(got, strings.TrimPrefix(f.Path, dir+"/")+"="+strings.TrimSpace(string(f.Text)))
	}
	want := []string{"a/10-a.ini=a", "a/20-b.ini=b", "b/00-cm.ini=cm"}
	if !slices.Equal(got, want) || string(set.File.Text) != "memory_limit = 64M\n" {
		t.Errorf("read %v and php.ini %q, want %v", got, set.File.Text, want)
	}
}

// TestIniKeeperFallsBackToTheLastGoodSet: unknown, nothing is added; a
// change that has not served makes a start use the copy, in PHP's order;
// a reload that served makes the new files the good ones.
func TestIniKeeperFallsBackToTheLastGoodSet(t *testing.T) {
	dir, runtime := t.TempDir(), t.TempDir()
	writeFiles(t, dir, map[string]string{"php.ini": "memory_limit = 101M\n", "conf.d/20-z.ini": "z = 1\n", "conf.d/10-a.ini": "a = 1\n"})
	ini, scan := filepath.Join(dir, "php.ini"), filepath.Join(dir, "conf.d")
	k := iniKeeper{dir: func() (string, error) { return runtime, nil }}
	if args, env, fallback, err := k.launch(); args != nil || env != nil || fallback || err != nil {
		t.Fatalf("unknown: launch gives %v %v %v %v, want nothing", args, env, fallback, err)
	}
	good, err := ReadIniSet(ini, []string{scan})
	if err != nil {
		t.Fatal(err)
	}
	k.Know(ini, []string{scan}, &good)
	if args, _, fallback, _ := k.launch(); args != nil || fallback {
		t.Fatalf("unchanged files: launch gives %v %v, want nothing", args, fallback)
	}

	writeFiles(t, dir, map[string]string{"php.ini": "broken = = here\nmemory_limit = 102M\n"})
	args, env, fallback, err := k.launch()
	if err != nil || !fallback {
		t.Fatalf("refused change: fallback %v, %v", fallback, err)
	}
	copyIni := filepath.Join(runtime, "php-ini", "php.ini")
	if !slices.Equal(args, []string{"-c", copyIni}) || !slices.Equal(env, []string{"PHP_INI_SCAN_DIR=" + filepath.Join(runtime, "php-ini", "conf.d")}) {
		t.Errorf("args %v env %v", args, env)
	}
	if b, _ := os.ReadFile(copyIni); string(b) != "memory_limit = 101M\n" {
		t.Errorf("the copy holds %q, want the old php.ini", b)
	}
	entries, _ := os.ReadDir(filepath.Join(runtime, "php-ini", "conf.d"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"0000-10-a.ini", "0001-20-z.ini"}) {
		t.Errorf("the copy's scan directory holds %v", names)
	}

	// A good change reloads: prepared into the copy php-fpm re-reads,
	// then the good set once it served.
	writeFiles(t, dir, map[string]string{"php.ini": "memory_limit = 103M\n"})
	next, err := k.prepare()
	if err != nil || next == nil {
		t.Fatalf("prepare: %v %v", next, err)
	}
	if b, _ := os.ReadFile(copyIni); string(b) != "memory_limit = 103M\n" {
		t.Errorf("prepare left %q in the copy php-fpm runs from", b)
	}
	k.served(next)
	if args, _, fallback, _ := k.launch(); args != nil || fallback {
		t.Errorf("after the reload served: launch gives %v %v, want the files on disk", args, fallback)
	}
}

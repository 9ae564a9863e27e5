package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuntimeDirFallsBackToAWritableParent(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	writable := filepath.Join(base, "writable")
	if err := os.Mkdir(writable, 0o755); err != nil {
		t.Fatal(err)
	}
	d := runtimeDir{candidates: []string{missing, writable}}
	path, err := d.get()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != writable {
		t.Errorf("made %s, want it under %s", path, writable)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("runtime directory %s: %v, mode %v, want 0700", path, err, fi.Mode().Perm())
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s is still there after remove: %v", path, err)
	}
}

func TestRuntimeDirNowhereToWrite(t *testing.T) {
	base := t.TempDir()
	d := runtimeDir{candidates: []string{filepath.Join(base, "a"), filepath.Join(base, "b")}}
	if _, err := d.get(); err == nil || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("got %v, want an error that says what to set", err)
	}
	if err := d.remove(); err != nil {
		t.Errorf("remove after a failed get: %v", err)
	}
}

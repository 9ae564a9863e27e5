package reload

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEditorRenameOver(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.conf")
	write(t, main, "v1")
	h := start(t, []Group{
		{Name: "glob", Paths: []string{filepath.Join(dir, "*.conf")}},
		{Name: "file", Paths: []string{main}},
	}, testDebounce, testMaxDelay)

	// vim with backupcopy=no: probe file, swap file, backup by rename, new
	// file written under the old name.
	write(t, filepath.Join(dir, "4913"), "")
	rm(t, filepath.Join(dir, "4913"))
	write(t, filepath.Join(dir, ".main.conf.swp"), "swap")
	if err := os.Rename(main, main+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, main, "v2")
	rm(t, main+"~")
	rm(t, filepath.Join(dir, ".main.conf.swp"))
	h.expect("glob", "file")

	// Temp file renamed over (sed -i, most config tools).
	replace(t, main, "v3")
	h.expect("glob", "file")
	write(t, filepath.Join(dir, ".main.conf.swp"), "swap again")
	h.expectNothing()
}

func TestInPlaceWrite(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.conf")
	write(t, main, "v1")
	h := start(t, []Group{{Name: "file", Paths: []string{main}}}, testDebounce, testMaxDelay)

	f, err := os.OpenFile(main, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nmore"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h.expect("file")
}

func TestGlobAddRemove(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.conf"), "a")
	h := start(t, []Group{{Name: "glob", Paths: []string{filepath.Join(dir, "*.conf")}}}, testDebounce, testMaxDelay)

	replace(t, filepath.Join(dir, "b.conf"), "b")
	h.expect("glob")
	rm(t, filepath.Join(dir, "b.conf"))
	h.expect("glob")
	write(t, filepath.Join(dir, "c.txt"), "c")
	write(t, filepath.Join(dir, ".hidden.conf"), "h")
	h.expectNothing()
}

func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.conf"), "a")
	write(t, filepath.Join(dir, "a.ini"), "a")
	h := start(t, []Group{
		{Name: "conf", Paths: []string{filepath.Join(dir, "*.conf")}},
		{Name: "ini", Paths: []string{filepath.Join(dir, "*.ini")}},
	}, testDebounce, testMaxDelay)

	replace(t, filepath.Join(dir, "a.ini"), "a2")
	h.expect("ini")
	replace(t, filepath.Join(dir, "b.conf"), "b")
	h.expect("conf")
	replace(t, filepath.Join(dir, "a.conf"), "a3")
	replace(t, filepath.Join(dir, "a.ini"), "a3")
	h.expect("conf", "ini")
}

// Events that change no content: attributes, times, identical rewrites,
// editor and kubelet churn.
func TestNoReportWithoutContentChange(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.conf")
	write(t, main, "v1")
	h := start(t, []Group{
		{Name: "glob", Paths: []string{filepath.Join(dir, "*.conf")}},
		{Name: "dir", Paths: []string{dir}},
	}, testDebounce, testMaxDelay)

	if err := os.Chmod(main, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(main, time.Now(), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	write(t, main, "v1")
	replace(t, main, "v1")
	mkdir(t, filepath.Join(dir, "..2026_11_22_10_00_00.123"))
	write(t, filepath.Join(dir, ".#main.conf"), "lock")
	write(t, filepath.Join(dir, "#main.conf#"), "autosave")
	write(t, filepath.Join(dir, "main.conf~"), "backup")
	h.expectNothing()
}

func rm(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

package configfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.conf")
	if err := os.WriteFile(ok, []byte("a = b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(ok); err != nil || string(b) != "a = b\n" {
		t.Fatalf("Read(regular) = %q, %v", b, err)
	}
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.conf")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "a FIFO",
		"/dev/zero": "a character device",
		dir:         "a directory",
		big:         "larger than",
	} {
		done := make(chan error, 1)
		go func() { _, err := Read(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Read(%s) = %v, want an error saying %q", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Read(%s) hangs", path)
		}
	}
}

package lastgood

import (
	"os"
	"testing"
)

func TestKeeper(t *testing.T) {
	dir := t.TempDir()
	asked := 0
	k := New("/etc/app.conf", "app.conf", []byte("v1"), func() (string, error) { asked++; return dir, nil })
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// The files on disk say what served: run them.
	if p, fb, err := k.Launch([]byte("v1")); err != nil || fb || p != "/etc/app.conf" {
		t.Fatalf("Launch(good) = %q, %v, %v", p, fb, err)
	}
	if err := k.Prepare([]byte("v2")); err != nil || asked != 0 {
		t.Fatalf("Prepare from Live wrote a copy (asked %d, %v)", asked, err)
	}
	// v2 killed the server: it comes back with v1, from the copy.
	p, fb, err := k.Launch([]byte("v2"))
	if err != nil || !fb || read(p) != "v1" || !k.FromCopy() {
		t.Fatalf("Launch(bad) = %q (%q), %v, %v", p, read(p), fb, err)
	}
	// The next reload goes through the copy, which the server re-reads.
	if err := k.Prepare([]byte("v3")); err != nil || read(p) != "v3" {
		t.Fatalf("Prepare from the copy: %q, %v", read(p), err)
	}
	k.Served([]byte("v3"))
	// v3 served; a restart with v3 on disk runs the operator's file again.
	if p2, fb, err := k.Launch([]byte("v3")); err != nil || fb || p2 != "/etc/app.conf" || k.FromCopy() {
		t.Fatalf("Launch(v3) = %q, %v, %v", p2, fb, err)
	}
	if asked != 1 {
		t.Errorf("Dir asked %d times, want once", asked)
	}
}

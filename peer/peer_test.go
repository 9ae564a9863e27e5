package peer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary hold the lock as another process would.
func TestMain(m *testing.M) {
	if path := os.Getenv("PEER_HOLD"); path != "" {
		f, err := Hold(path)
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		ms, _ := strconv.Atoi(os.Getenv("PEER_MS"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		f.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestWaitForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peer.lock")
	if held, err := Wait(context.Background(), path); held || err != nil {
		t.Fatalf("Wait without a holder = %v, %v", held, err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PEER_HOLD="+path, "PEER_MS=500")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("holder: %q, %v", buf, err)
	}
	began := time.Now()
	held, err := Wait(context.Background(), path)
	if !held || err != nil || time.Since(began) < 300*time.Millisecond {
		t.Fatalf("Wait = %v, %v after %v; want it to wait for the holder", held, err, time.Since(began))
	}
}

func TestWaitIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peer.lock")
	f, err := Hold(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	held, err := Wait(ctx, path)
	if !held || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a holder that stays = %v, %v", held, err)
	}
}

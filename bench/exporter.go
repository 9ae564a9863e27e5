package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// buildExporter tries once to build hipages/php-fpm_exporter from the Go
// module proxy into a temp GOBIN. It returns the binary, or "" and why
// not, in one line for the report.
func buildExporter(ctx context.Context) (bin string, cleanup func(), why string) {
	dir, err := os.MkdirTemp("", "lnmp-bench-exporter-")
	if err != nil {
		return "", func() {}, err.Error()
	}
	cleanup = func() { os.RemoveAll(dir) }
	ctx, cancel := context.WithTimeout(ctx, exporterInstall)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", exporterModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return "", cleanup, fmt.Sprintf("`go install %s` failed: %s", exporterModule, first)
	}
	return filepath.Join(dir, "php-fpm_exporter"), cleanup, ""
}

// startExporter runs the exporter beside lnmp-init, as a sidecar would,
// on both pools' status pages, and waits until it serves.
func startExporter(ctx context.Context, bin string, sb *lnmptest.Sandbox, dyn *lnmptest.ExtraPool) (stop func(), pid int, url string, err error) {
	addr, err := freeLoopback()
	if err != nil {
		return nil, 0, "", err
	}
	uris := "tcp://" + sb.FPMAddr() + "/fpm-status,tcp://" + dyn.StatusListen + "/status"
	cmd := exec.Command(bin, "server", "--phpfpm.scrape-uri", uris, "--web.listen-address", addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, 0, "", fmt.Errorf("start php-fpm_exporter: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	url = "http://" + addr + "/metrics"
	err = lnmptest.WaitUntil(10*time.Second, "php-fpm_exporter to serve", func() bool {
		return ctx.Err() != nil || lnmptest.Fetch(url, time.Second).Status == 200
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		stop()
		return nil, 0, "", errors.Join(errors.New("php-fpm_exporter"), err)
	}
	return stop, cmd.Process.Pid, url, nil
}

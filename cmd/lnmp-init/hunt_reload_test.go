package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// TestHuntNoWritableTmpKeepsTheFallback: a read-only root filesystem with
// no emptyDir on /tmp (readOnlyRootFilesystem: true is common; the /tmp
// volume of examples/kubernetes is not): here uid 33 with TMPDIR a
// directory it cannot write, which is what such a container sees. A
// reload that passes php-fpm -t yet kills php-fpm's master (a pid file in
// a missing directory, TestFaultReloadThatKillsPhpFpmFallsBack) must still
// leave the container serving the old config: issue 8's "if php-fpm still
// dies from a reload, the container must keep serving, not exit".
//
// Fails on 702a955: the copy of the last good config is written lazily
// under $TMPDIR, only once it is needed; that fails ("cannot keep the last
// config that worked; starting from the files on disk"), every restart
// runs the config that killed php-fpm, and lnmp-init exits 78 at the crash
// limit, within seconds of the ConfigMap update, on every replica at once.
// Nothing warned at start that the fallback had nowhere to go.
//
// Passes since 4bf945b (main, written meanwhile): the directory is made at
// start, in $TMPDIR or else /dev/shm, /run or /var/tmp.
func TestHuntNoWritableTmpKeepsTheFallback(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	readOnly := filepath.Join(sb.Dir(), "read-only-tmp")
	if err := os.Mkdir(readOnly, 0o755); err != nil { // root's: uid 33 cannot write it
		t.Fatal(err)
	}
	w := startWatched(t, sb, lnmptest.RunOptions{UID: 33, Env: []string{"TMPDIR=" + readOnly}})
	if err := sb.SetFpmD("www.conf", "[global]\npid = /nonexistent-lnmptest-dir/php-fpm.pid\n"+
		sb.PoolText(lnmptest.Pool{EnvVersion: 9})); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	time.Sleep(3 * time.Second) // the reload, its failure and a restart loop would all show by now
	waitAnswer(t, w.in, sb.URL("/env.php"), "after a reload that killed php-fpm, with no writable TMPDIR")
	for range 3 {
		assertAlive(t, w.in, "after a reload that killed php-fpm, with no writable TMPDIR")
		if got := envVersion(sb); got != "1" {
			t.Fatalf("env.php says %q %v after the change, want the old 1", got, time.Since(changed).Round(time.Millisecond))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := sb.SetFpmEnvVersion(3); err != nil {
		t.Fatal(err)
	}
	waitBody(t, sb.URL("/env.php"), "3", faultWithin)
}

// selfSigned writes a self-signed certificate for name as dir/name.crt and
// dir/name.key, readable by nginx's workers (a certificate named by a
// variable is loaded by the worker at each handshake).
func selfSigned(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN="+name, "-keyout", filepath.Join(dir, name+".key"), "-out", filepath.Join(dir, name+".crt")).CombinedOutput()
	if err != nil {
		testenv.SkipOrFail(t, "openssl: %v: %s", err, out)
	}
	if err := os.Chmod(filepath.Join(dir, name+".key"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tlsBody GETs https://127.0.0.1:port/ with SNI name and returns the body,
// or the error.
func tlsBody(port int, name string) string {
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: name, InsecureSkipVerify: true}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// TestHuntNginxFallbackCopyKeepsRelativePaths: nginx serves TLS with
// certificates named relative to its config directory, as nginx resolves
// them (against the directory of nginx.conf): one fixed
// (ssl_certificate certs/static.crt), one per SNI name
// (ssl_certificate certs/$ssl_server_name.crt, nginx 1.15.9+). A refused
// change, then an nginx crash: nginx restarts from lnmp-init's one-file
// copy of the last good config, in a directory of its own. Both TLS servers
// must answer as before: the copy must mean what the operator's files meant.
//
// Fails on 702a955 for the certificate named by a variable: render makes
// relative paths absolute only when they hold no "$"; nginx resolves the
// variable's path at each handshake against the directory of the config
// it was started with, the copy's, where no certs/ exists: every TLS
// handshake on that server fails ("tls-sni answers error: ... remote
// error: tls: internal error") until the operator fixes the refused
// change. The fixed certificate is made absolute and keeps working.
//
// Passes since ff2e93f (main, written meanwhile), which makes such a path
// absolute up to its first variable.
func TestHuntNginxFallbackCopyKeepsRelativePaths(t *testing.T) {
	lnmptest.SkipUnlessRequirements(t)
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	certs := filepath.Join(sb.Dir(), "certs")
	selfSigned(t, certs, "static")
	selfSigned(t, certs, "localhost")
	ports := [2]int{}
	for i := range ports {
		p, err := lnmptest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	if err := sb.SetConfD("tls.conf", fmt.Sprintf(`server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate certs/static.crt;
    ssl_certificate_key certs/static.key;
    return 200 "tls-static\n";
}
server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate certs/$ssl_server_name.crt;
    ssl_certificate_key certs/$ssl_server_name.key;
    return 200 "tls-sni\n";
}
`, ports[0], ports[1])); err != nil {
		t.Fatal(err)
	}
	w := startWatched(t, sb, lnmptest.RunOptions{})
	want := map[int]string{ports[0]: "tls-static", ports[1]: "tls-sni"}
	for port, body := range want {
		if got := tlsBody(port, "localhost"); got != body {
			t.Fatalf("before any change, port %d answers %q, want %q", port, got, body)
		}
	}
	before := metricsOf(w.base)
	if err := sb.SetConfD("headers.conf", "add_header X-Config-Version 9 always;\nno_such_directive;\n"); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, w.in, w.base, "the refusal", faultWithin, func(m string) bool {
		return reloadsTotal(m, "nginx", "invalid") > reloadsTotal(before, "nginx", "invalid")
	})
	killNginx(t, w.in)
	waitAnswer(t, w.in, sb.URL("/index.php"), "after an nginx crash with a refused config on disk")
	for port, body := range want {
		if got := tlsBody(port, "localhost"); got != body {
			t.Errorf("after the crash, %s answers %q, want %q", body, got, body)
		}
	}
}

// Package image holds lnmp-init's container tests: the test image
// (test/image/Dockerfile, the example image's final stage on a Debian base)
// run by a real Docker engine, stopped with docker stop, run read-only and
// non-root, reconfigured through a ConfigMap-style bind mount, started with
// docker-compose, and compared under load with supervisord and tini.
//
// They run only under LNMP_IMAGE_TEST=1, which `make image-test` sets after
// building the image; then a missing docker or image is a failure.
package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

const (
	// envRun turns the tests on; make image-test sets it.
	envRun = "LNMP_IMAGE_TEST"
	// envImage names the image under test.
	envImage     = "LNMP_TEST_IMAGE"
	defaultImage = "lnmp-init-test:local"
	// label marks every container these tests start; its value is the
	// start time (Unix seconds), so a later run can remove what a killed
	// run left behind without touching a run still going.
	label = "lnmp-init.image-test"
	// namePrefix starts every container and compose project name.
	namePrefix = "lnmpimagetest"
	// staleAfter is when a leftover is surely not a running test's: a whole
	// run takes a few minutes.
	staleAfter = 15 * time.Minute

	// Generous bounds: the tests assert behaviour, not speed.
	dockerTimeout = 2 * time.Minute // one docker command
	upWithin      = 30 * time.Second
	healthyWithin = 60 * time.Second
	// stopKillAfter is docker stop's -t: far beyond lnmp-init's own stop
	// bound (--stop-timeout 25s), so a test never sees Docker's SIGKILL
	// unless lnmp-init hangs.
	stopKillAfter = 40

	// The example configs' facts the tests rely on.
	appPort = 8080 // conf.d/app.conf: listen 8080
	fpmPort = 9000 // pool.d/www.conf: listen = 127.0.0.1:9000
	// The sample app's answers (examples/app/public).
	bodyIndex = "Hello from lnmp-init: php "
	// php-fpm's notice once it serves: proof its error_log reaches docker logs.
	fpmReadyNotice = "NOTICE: ready to handle connections"
)

func image() string {
	if s := os.Getenv(envImage); s != "" {
		return s
	}
	return defaultImage
}

var (
	dockerOnce sync.Once
	dockerErr  error
)

// requireDocker skips the test unless LNMP_IMAGE_TEST=1, and then fails it
// when docker or the image is missing: there, a skip would hide that the
// image was never tested.
func requireDocker(t *testing.T) {
	t.Helper()
	if os.Getenv(envRun) != "1" {
		t.Skipf("container tests: set %s=1 to run them against a real Docker engine (make image-test builds %s and does)",
			envRun, defaultImage)
	}
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = fmt.Errorf("%s=1 but no docker command: %w", envRun, err)
			return
		}
		if _, err := docker("version", "--format", "{{.Server.Version}}"); err != nil {
			dockerErr = fmt.Errorf("%s=1 but the Docker engine does not answer: %w", envRun, err)
			return
		}
		if _, err := docker("image", "inspect", "--format", "{{.Id}}", image()); err != nil {
			dockerErr = fmt.Errorf("%s=1 but image %s is missing (make image-test builds it): %w", envRun, image(), err)
			return
		}
		sweepStale()
	})
	if dockerErr != nil {
		t.Fatal(dockerErr)
	}
}

// docker runs the docker command and returns its trimmed stdout; an error
// carries stderr.
func docker(args ...string) (string, error) {
	return command(nil, "docker", args...)
}

// command runs name with args (and env added to the test's) with a bound.
func command(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// sweepStale removes containers and networks that an earlier, killed run
// left behind (a test binary killed by its timeout runs no cleanups).
func sweepStale() {
	out, err := docker("ps", "-a", "--filter", "label="+label, "--format", `{{.ID}} {{.Label "`+label+`"}}`)
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && stale(f[1]) {
			docker("rm", "-f", "-v", f[0])
		}
	}
	// Compose projects cannot carry the label: their names carry the time.
	out, _ = docker("ps", "-a", "--filter", "name="+namePrefix, "--format", "{{.ID}} {{.Names}}")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && stale(nameTime(f[1])) {
			docker("rm", "-f", "-v", f[0])
		}
	}
	out, _ = docker("network", "ls", "--filter", "name="+namePrefix, "--format", "{{.Name}}")
	for _, name := range strings.Fields(out) {
		if stale(nameTime(name)) {
			docker("network", "rm", name)
		}
	}
}

// uniqueName returns namePrefix, what, the time (Unix seconds) and a counter.
func uniqueName(what string) string {
	nameMu.Lock()
	defer nameMu.Unlock()
	nameSeq++
	return fmt.Sprintf("%s%s%dn%d", namePrefix, what, time.Now().Unix(), nameSeq)
}

var (
	nameMu  sync.Mutex
	nameSeq int
)

// nameTime extracts the Unix seconds uniqueName put into a name.
func nameTime(name string) string {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(name, "/"), namePrefix)
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, "abcdefghijklmnopqrstuvwxyz-")
	digits, _, _ := strings.Cut(rest, "n")
	return digits
}

func stale(unix string) bool {
	sec, err := strconv.ParseInt(unix, 10, 64)
	return err == nil && time.Since(time.Unix(sec, 0)) > staleAfter
}

// container is one container these tests started.
type container struct {
	t    *testing.T
	name string
	port int // host port of the app's 8080, on 127.0.0.1
}

// runOpts shapes a docker run.
type runOpts struct {
	args []string // docker run options, before the image
	cmd  []string // after the image: the entrypoint's arguments
}

// run starts the image detached with the app's port published on a free
// loopback port, and removes the container when the test ends, logging its
// output first if the test failed.
func run(t *testing.T, what string, opt runOpts) *container {
	t.Helper()
	c := &container{t: t, name: uniqueName(what)}
	args := []string{"run", "-d", "--name", c.name,
		"--label", label + "=" + strconv.FormatInt(time.Now().Unix(), 10),
		"-p", fmt.Sprintf("127.0.0.1::%d", appPort)}
	args = append(args, opt.args...)
	args = append(args, image())
	args = append(args, opt.cmd...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := c.logs()
			t.Logf("docker logs %s (last 60 lines but nginx's access log):\n%s", c.name, lastLines(withoutAccessLog(logs), 60))
		}
		if _, err := docker("rm", "-f", "-v", c.name); err != nil && !strings.Contains(err.Error(), "No such container") {
			t.Errorf("cleanup: %v", err)
		}
	})
	if _, err := docker(args...); err != nil {
		t.Fatalf("start container: %v", err)
	}
	out, err := docker("port", c.name, fmt.Sprintf("%d/tcp", appPort))
	if err != nil {
		t.Fatalf("published port: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if host, port, err := net.SplitHostPort(strings.TrimSpace(line)); err == nil && host == "127.0.0.1" {
			c.port, _ = strconv.Atoi(port)
		}
	}
	if c.port == 0 {
		t.Fatalf("docker port %s: no 127.0.0.1 port in %q", c.name, out)
	}
	return c
}

func (c *container) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", c.port, path)
}

// waitServing waits until the sample app answers 200 with its own body.
func (c *container) waitServing() {
	c.t.Helper()
	if err := lnmptest.WaitHTTP(c.url("/index.php"), 200, upWithin); err != nil {
		c.t.Fatalf("%s does not serve: %v", c.name, err)
	}
	r := lnmptest.Fetch(c.url("/index.php"), 10*time.Second)
	if r.Err != nil || r.Status != 200 || !strings.Contains(r.Body, bodyIndex) {
		c.t.Fatalf("GET /index.php: status %d, body %q, error %v; want 200 and %q", r.Status, r.Body, r.Err, bodyIndex)
	}
}

// inspect returns docker inspect's view of format.
func (c *container) inspect(format string) string {
	c.t.Helper()
	out, err := docker("inspect", "--format", format, c.name)
	if err != nil {
		c.t.Fatalf("inspect: %v", err)
	}
	return out
}

// exitCode returns the exit code of the stopped container.
func (c *container) exitCode() int {
	c.t.Helper()
	s := c.inspect("{{.State.ExitCode}}")
	code, err := strconv.Atoi(s)
	if err != nil {
		c.t.Fatalf("exit code %q: %v", s, err)
	}
	return code
}

// exec runs a command in the container as the container's user and
// returns its combined output and exit code (-1 when docker itself failed).
func (c *container) exec(args ...string) (string, int) {
	return c.execAs("", args...)
}

// execAs is exec as user, or as the container's user when user is empty.
func (c *container) execAs(user string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	dargs := []string{"exec"}
	if user != "" {
		dargs = append(dargs, "--user", user)
	}
	dargs = append(append(dargs, c.name), args...)
	out, err := exec.CommandContext(ctx, "docker", dargs...).CombinedOutput()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exitErr):
		return string(out), exitErr.ExitCode()
	default:
		return string(out) + err.Error(), -1
	}
}

// stop runs docker stop with a kill timeout far beyond lnmp-init's own
// bound and returns how long it took: from the command's start until the
// container had exited.
func (c *container) stop() (time.Duration, error) {
	start := time.Now()
	_, err := docker("stop", "-t", strconv.Itoa(stopKillAfter), c.name)
	return time.Since(start), err
}

// logs returns stdout and stderr of the container, interleaved.
func (c *container) logs() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", c.name).CombinedOutput()
	return string(out), err
}

// fpmConnections counts the open connections to php-fpm's port in the
// container's network namespace: the FastCGI requests nginx has handed to
// php-fpm and not yet seen answered, whether a worker has accepted them or
// they wait in the listen queue (queued says how many do). It reads
// /proc/net/tcp with docker exec, so it works the same under every init.
func (c *container) fpmConnections() (open, queued int, err error) {
	out, code := c.exec("cat", "/proc/net/tcp")
	if code != 0 {
		return 0, 0, fmt.Errorf("docker exec cat /proc/net/tcp: exit %d: %s", code, out)
	}
	open, queued = countConnections(out, fpmPort)
	return open, queued, nil
}

// countConnections reads /proc/net/tcp: established counts the entries in
// state ESTABLISHED (01) whose local port is port; queued is the listening
// socket's (state 0A) rx_queue, the connections waiting to be accepted.
func countConnections(procNetTCP string, port int) (established, queued int) {
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(procNetTCP, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], suffix) {
			continue
		}
		switch f[3] {
		case "01":
			established++
		case "0A":
			if _, rx, ok := strings.Cut(f[4], ":"); ok {
				n, _ := strconv.ParseInt(rx, 16, 64)
				queued += int(n)
			}
		}
	}
	return established, queued
}

// freePort returns a loopback port nothing listens on, for the compose file.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(lnmptest.FreeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// withoutAccessLog drops nginx's access log lines, which polling multiplies.
func withoutAccessLog(logs string) string {
	var keep []string
	dropped := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "\" 200 ") && strings.Contains(line, "\"GET /") {
			dropped++
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n") + fmt.Sprintf("\n(%d access log lines of 200 answers left out)", dropped)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestHelpers checks the parsing helpers; it needs no docker.
func TestHelpers(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 1 1 0 100 0 0 10 0
   1: 0100007F:2328 0100007F:E256 01 00000000:00000000 00:00000000 00000000    33        0 2 1 0 20 4 30 10 -1
   2: 0100007F:E256 0100007F:2328 01 00000000:00000000 00:00000000 00000000    33        0 3 1 0 20 4 30 10 -1
   3: 0100007F:2328 0100007F:E258 06 00000000:00000000 03:00001767 00000000     0        0 0 3 0
   4: 0100007F:2328 0100007F:E25A 01 00000000:00000000 00:00000000 00000000    33        0 4 1 0 20 4 30 10 -1
`
	if n, q := countConnections(tcp, 9000); n != 2 || q != 0 {
		t.Errorf("countConnections = %d, %d; want 2 (php-fpm's side of two connections), 0", n, q)
	}
	tcp = strings.Replace(tcp, "0A 00000000:00000000", "0A 00000000:00000003", 1)
	if n, q := countConnections(tcp, 9000); n != 2 || q != 3 {
		t.Errorf("countConnections = %d, %d; want 2, 3 queued", n, q)
	}
	name := uniqueName("stop")
	if got, want := nameTime(name), strconv.FormatInt(time.Now().Unix(), 10); got != want {
		t.Errorf("nameTime(%q) = %q, want %q", name, got, want)
	}
	if got := nameTime("lnmpimagetestcompose1700000000n3_app_1"); got != "1700000000" {
		t.Errorf("nameTime of a compose container = %q", got)
	}
	if got := nameTime("other"); got != "" {
		t.Errorf("nameTime of a foreign name = %q", got)
	}
	if !stale("1700000000") || stale(strconv.FormatInt(time.Now().Unix(), 10)) || stale("") {
		t.Error("stale is wrong")
	}
}

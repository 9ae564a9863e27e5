package image

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

// TestServesAndHealthy: docker run serves the sample app, lnmp-init probe
// ready answers 0 inside, and the image's HEALTHCHECK turns healthy.
func TestServesAndHealthy(t *testing.T) {
	requireDocker(t)
	t.Parallel()
	start := time.Now()
	c := run(t, "healthy", runOpts{})
	c.waitServing()
	for _, which := range []string{"ready", "live"} {
		if out, code := c.exec("lnmp-init", "probe", which); code != 0 {
			t.Errorf("docker exec lnmp-init probe %s: exit %d: %s", which, code, out)
		}
	}
	if user := c.inspect("{{.Config.User}}"); user != "www-data" {
		t.Errorf("image user %q, want www-data", user)
	}
	var health string
	if err := lnmptest.WaitUntil(healthyWithin, "health status healthy", func() bool {
		health = c.inspect("{{if .State.Health}}{{.State.Health.Status}}{{end}}")
		return health == "healthy"
	}); err != nil {
		t.Fatalf("%v: last status %q, last probe %s", err, health,
			c.inspect("{{if .State.Health}}{{json .State.Health.Log}}{{end}}"))
	}
	t.Logf("healthy %.1fs after docker run (HEALTHCHECK --start-period=10s --interval=10s)", time.Since(start).Seconds())
}

// TestNonRoot: as uid 33 with a read-only root filesystem and a tmpfs on
// /tmp, the image serves, php-fpm's and nginx's own output reaches docker
// logs, and docker stop ends in exit 0. The second case hands lnmp-init
// stdio pipes owned by root (a root entrypoint that drops to uid 33, as
// gosu or su-exec images do), which uid 33 cannot reopen: lnmp-init must
// relay its children's output.
func TestNonRoot(t *testing.T) {
	requireDocker(t)
	t.Parallel()
	hardened := []string{"--read-only", "--tmpfs", "/tmp", "--env", "LNMP_DRAIN_DELAY=1s"}
	raw := []string{"--env", "LNMP_CHILD_LOGS=raw"}
	cases := []struct {
		name    string
		opt     runOpts
		relayed bool // with --child-logs=raw: must lnmp-init relay the children's output?
		tagged  bool // the default: every child line is a JSON object naming its child
	}{
		{"user33", runOpts{args: append([]string{"--user", "33"}, hardened...)}, false, true},
		{"user33-raw", runOpts{args: append(append([]string{"--user", "33"}, hardened...), raw...)}, false, false},
		{"rootstdio-raw", runOpts{
			args: append(append([]string{"--user", "0", "--entrypoint", "setpriv"}, hardened...), raw...),
			cmd:  []string{"--reuid=33", "--regid=33", "--clear-groups", "lnmp-init"},
		}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := run(t, tc.name, tc.opt)
			c.waitServing()
			if uid := pid1UID(c); uid != "33" {
				t.Errorf("PID 1 runs as uid %q, want 33", uid)
			}
			if ro := c.inspect("{{.HostConfig.ReadonlyRootfs}}"); ro != "true" {
				t.Errorf("ReadonlyRootfs %s, want true", ro)
			}
			const accessLine = `"GET /index.php HTTP/1.1" 200`
			var logs string
			found := func(child, text string) bool {
				if !tc.tagged {
					return strings.Contains(logs, text)
				}
				for _, line := range strings.Split(logs, "\n") {
					var l struct{ Child, Stream, Msg string }
					if json.Unmarshal([]byte(line), &l) == nil && l.Child == child && l.Stream != "" && strings.Contains(l.Msg, text) {
						return true
					}
				}
				return false
			}
			if err := lnmptest.WaitUntil(10*time.Second, "php-fpm's notice and nginx's access log in docker logs", func() bool {
				logs, _ = c.logs()
				return found("php-fpm", fpmReadyNotice) && found("nginx", accessLine)
			}); err != nil {
				t.Errorf("%v (%q and %q, tagged as JSON objects: %v)", err, fpmReadyNotice, accessLine, tc.tagged)
			}
			relayed := strings.Contains(logs, "relaying their output")
			t.Logf("stdio owned by %s in the container; lnmp-init relays the children's output: %v",
				pipeOwner(c), relayed)
			if tc.relayed && !relayed {
				t.Errorf("root-owned stdio and no relay")
			}
			took, err := c.stop()
			if err != nil {
				t.Fatal(err)
			}
			if code := c.exitCode(); code != 0 {
				t.Errorf("exit code %d after docker stop (%.1fs), want 0", code, took.Seconds())
			}
		})
	}
}

// pid1UID returns the real uid of the container's PID 1.
func pid1UID(c *container) string {
	out, code := c.exec("grep", "^Uid:", "/proc/1/status")
	if f := strings.Fields(out); code == 0 && len(f) > 1 {
		return f[1]
	}
	return "unknown: " + out
}

// pipeOwner says who owns PID 1's stderr. It asks as uid 33, PID 1's user:
// the container's root lacks CAP_SYS_PTRACE to look into another user's fds.
func pipeOwner(c *container) string {
	out, code := c.execAs("33", "stat", "-L", "-c", "%U (mode %a)", "/proc/1/fd/2")
	if code != 0 {
		return "unknown: " + strings.TrimSpace(out)
	}
	return strings.TrimSpace(out)
}

// TestConfigMapReload: conf.d comes from a host directory laid out as the
// kubelet lays out a ConfigMap volume; swapping it from the host changes
// what the container serves within seconds, without a failed request.
func TestConfigMapReload(t *testing.T) {
	requireDocker(t)
	t.Parallel()
	example, err := os.ReadFile("../../examples/config/conf.d/app.conf")
	if err != nil {
		t.Fatal(err)
	}
	appConf := func(version int) string {
		const anchor = "    index index.php;\n"
		if !strings.Contains(string(example), anchor) {
			t.Fatalf("examples/config/conf.d/app.conf has no %q to add a header after", anchor)
		}
		return strings.Replace(string(example), anchor,
			anchor+fmt.Sprintf("    add_header X-Config-Version %d always;\n", version), 1)
	}
	// Under /tmp, not t.TempDir: the container's uid 33 must cross every
	// directory of the bind mount's source (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "lnmp-image-confd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := lnmptest.WriteAtomic(dir, map[string]string{"app.conf": appConf(1)}); err != nil {
		t.Fatal(err)
	}
	c := run(t, "reload", runOpts{args: []string{"-v", dir + ":/srv/lnmp/conf.d:ro", "--env", "LNMP_DRAIN_DELAY=1s"}})
	c.waitServing()
	if v := lnmptest.Fetch(c.url("/index.php"), 10*time.Second).Header.Get("X-Config-Version"); v != "1" {
		t.Fatalf("X-Config-Version %q before the swap, want 1", v)
	}
	// lnmp-init arms its watcher in the background, after asking php-fpm
	// for its php.ini paths, so it can start watching some milliseconds
	// after it is ready. A swap in between is never applied (seen here: 1
	// run in 4 without this wait, X-Config-Version stayed 1). That is a gap
	// in lnmp-init, not in this test; this test is about a swap later on.
	if err := lnmptest.WaitUntil(10*time.Second, "lnmp-init watching nginx's config", func() bool {
		logs, _ := c.logs()
		return strings.Contains(logs, `"msg":"watching for config changes","child":"nginx"`)
	}); err != nil {
		t.Fatal(err)
	}

	swapped := time.Now()
	if err := lnmptest.WriteAtomic(dir, map[string]string{"app.conf": appConf(2)}); err != nil {
		t.Fatal(err)
	}
	var last lnmptest.Result
	var failed []string
	if err := lnmptest.WaitUntil(15*time.Second, "X-Config-Version: 2", func() bool {
		time.Sleep(40 * time.Millisecond) // about 20 requests a second, not 100
		last = lnmptest.Fetch(c.url("/index.php"), 10*time.Second)
		if last.Err != nil || last.Status != 200 {
			failed = append(failed, fmt.Sprintf("status %d, error %v", last.Status, last.Err))
		}
		return last.Status == 200 && last.Header.Get("X-Config-Version") == "2"
	}); err != nil {
		t.Fatalf("%v: last answer status %d, X-Config-Version %q, error %v",
			err, last.Status, last.Header.Get("X-Config-Version"), last.Err)
	}
	took := time.Since(swapped)
	t.Logf("new config served %.2fs after the ..data swap", took.Seconds())
	if took > 10*time.Second {
		t.Errorf("the swap took %.1fs to apply, want a few seconds", took.Seconds())
	}
	if len(failed) > 0 {
		t.Errorf("%d requests failed during the reload, first: %s", len(failed), failed[0])
	}
	// lnmp-init logs the reload once it has seen nginx serve the new
	// config, which can trail the new workers' first answer.
	if err := lnmptest.WaitUntil(10*time.Second, `"config reloaded" in lnmp-init's log`, func() bool {
		logs, _ := c.logs()
		return strings.Contains(logs, `"msg":"config reloaded","child":"nginx"`)
	}); err != nil {
		t.Error(err)
	}
}

// TestCompose: examples/compose/docker-compose.yml with the locally built
// image serves, and docker-compose down stops it cleanly (exit 0, long
// before stop_grace_period).
func TestCompose(t *testing.T) {
	requireDocker(t)
	t.Parallel()
	compose := composeCommand(t)
	file, err := filepath.Abs("../../examples/compose/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	project := uniqueName("compose")
	port := freePort(t)
	env := []string{"LNMP_IMAGE=" + image(), "LNMP_PORT=" + strconv.Itoa(port)}
	dc := func(args ...string) (string, error) {
		return command(env, compose[0], append(append(compose[1:], "-f", file, "-p", project), args...)...)
	}
	t.Logf("%s", composeVersion(compose))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc("logs", "--no-color")
			t.Logf("compose logs (last 60 lines):\n%s", lastLines(out, 60))
		}
		if _, err := dc("down", "-v", "--timeout", "1"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		// Whatever down could not remove.
		if ids, _ := docker("ps", "-aq", "--filter", "label=com.docker.compose.project="+project); ids != "" {
			docker(append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...)
		}
		if nets, _ := docker("network", "ls", "-q", "--filter", "label=com.docker.compose.project="+project); nets != "" {
			docker(append([]string{"network", "rm"}, strings.Fields(nets)...)...)
		}
	})
	if _, err := dc("up", "-d"); err != nil {
		t.Fatal(err)
	}
	id, err := dc("ps", "-q")
	if err != nil || id == "" || strings.Contains(id, "\n") {
		t.Fatalf("compose ps -q: %q, %v; want one container", id, err)
	}
	c := &container{t: t, name: id, port: port}
	c.waitServing()
	if ro := c.inspect("{{.HostConfig.ReadonlyRootfs}}"); ro != "true" {
		t.Errorf("read_only: ReadonlyRootfs %s", ro)
	}
	if st := c.inspect("{{.Config.StopTimeout}}"); st != "30" {
		t.Errorf("stop_grace_period: StopTimeout %s, want 30", st)
	}

	since := time.Now()
	if _, err := dc("down"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(since)
	// The container is gone with its state; the engine's events keep its
	// exit code.
	codes, err := docker("events", "--since", unixTime(since.Add(-time.Second)), "--until", unixTime(time.Now()),
		"--filter", "container="+id, "--filter", "event=die", "--format", `{{index .Actor.Attributes "exitCode"}}`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("docker-compose down took %.1fs (drain delay 5s, stop_grace_period 30s), exit code %q", took.Seconds(), codes)
	if codes != "0" {
		t.Errorf("exit code after down: %q, want 0", codes)
	}
	if took > 20*time.Second {
		t.Errorf("down took %.1fs: close to stop_grace_period (30s)", took.Seconds())
	}
	if left, _ := docker("ps", "-aq", "--filter", "label=com.docker.compose.project="+project); left != "" {
		t.Errorf("containers left after down: %s", left)
	}
}

// composeCommand returns docker-compose (v1), or the docker compose plugin
// (v2) when that is all there is.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	if _, err := docker("compose", "version"); err == nil {
		return []string{"docker", "compose"}
	}
	t.Fatalf("%s=1 but neither docker-compose nor the docker compose plugin is installed", envRun)
	return nil
}

func composeVersion(compose []string) string {
	out, err := command(nil, compose[0], append(compose[1:], "version", "--short")...)
	if err != nil {
		return strings.Join(compose, " ") + ": version unknown"
	}
	return strings.Join(compose, " ") + " " + out
}

func unixTime(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

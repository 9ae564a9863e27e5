package k8s

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// syncFrequency is the kubelet's in scripts/k8s/up: how often it looks at
// ConfigMap volumes (plus up to 50 % jitter).
const syncFrequency = 5 * time.Second

// waitEndpoints waits until the Service's EndpointSlices hold n ready
// endpoints.
func waitEndpoints(t *testing.T, svc string, n int, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	got := -1
	for time.Now().Before(end) {
		got = readyEndpoints(t, svc)
		if got == n {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("service %s: %d ready endpoints, want %d", svc, got, n)
}

func readyEndpoints(t *testing.T, svc string) int {
	out, err := kubectl(nil, "get", "endpointslices", "-l", "kubernetes.io/service-name="+svc, "-o", "json")
	if err != nil {
		t.Log(err)
		return -1
	}
	var l discoveryv1.EndpointSliceList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				n++
			}
		}
	}
	return n
}

// measure runs event under load sent to url and adds a row to the table.
// For lnmp-init's variants a failed request fails the test.
func measure(t *testing.T, v variant, scenario, url string, event func() string) loadResult {
	t.Helper()
	l := startLoad(url)
	time.Sleep(3 * time.Second) // the load runs before the event, slow requests in flight
	start := time.Now()
	detail := event()
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	r := l.stop()
	d := fmt.Sprintf("%s; event %.1f s", r.byKind, took.Seconds())
	if detail != "" {
		d += "; " + detail
	}
	if r.reasons != "" {
		d += "; " + r.reasons
	}
	record(row{v.name, scenario, r.total, r.failed, d})
	t.Logf("%s / %s: %d requests, %d failed (%s)", v.name, scenario, r.total, r.failed, d)
	for _, s := range r.samples {
		t.Logf("  failure: %s", s)
	}
	if v.asserted && r.failed > 0 {
		t.Errorf("%s / %s: %d of %d requests failed, want 0", v.name, scenario, r.failed, r.total)
	}
	return r
}

func rollout(t *testing.T, v variant, url string) {
	measure(t, v, "rollout restart (3 replicas)", url, func() string {
		mustKubectl(t, nil, "rollout", "restart", "deployment/"+v.app)
		mustKubectl(t, nil, "rollout", "status", "deployment/"+v.app, "--timeout=5m")
		waitPods(t, v.app, replicas, 3*time.Minute) // the old pods have finished stopping
		return ""
	})
}

func scaleDown(t *testing.T, v variant, url string) {
	measure(t, v, "scale 3 -> 1", url, func() string {
		mustKubectl(t, nil, "scale", "deployment/"+v.app, "--replicas=1")
		waitPods(t, v.app, 1, 2*time.Minute)
		return ""
	})
}

func noRestarts(t *testing.T, app string) {
	t.Helper()
	for _, p := range pods(t, app) {
		if n := restarts(&p); n != 0 {
			t.Errorf("pod %s: %d container restarts, want 0", p.Name, n)
		}
	}
}

// TestLnmpInit runs the single-container example through every scenario.
func TestLnmpInit(t *testing.T) {
	cluster(t)
	v := single(t)
	url := deploy(t, v)
	t.Run("non-root stdio", func(t *testing.T) { nonRootStdio(t, v) })
	t.Run("configmap change", func(t *testing.T) { configChange(t, v, url) })
	t.Run("broken configmap", func(t *testing.T) { brokenConfig(t, v, url) })
	t.Run("php-fpm crash", func(t *testing.T) { fpmCrash(t, v, url) })
	t.Run("rollout", func(t *testing.T) { rollout(t, v, url) })
	t.Run("pod deletion timeline", func(t *testing.T) { deletionTimeline(t, v, url) })
	t.Run("scale down", func(t *testing.T) { scaleDown(t, v, url) })
}

// The side-by-side variants: rollout and scale-down, in the same run.
func TestSupervisord(t *testing.T)   { rolloutAndScale(t, supervisord) }
func TestRecipe(t *testing.T)        { rolloutAndScale(t, recipe) }
func TestTwoContainers(t *testing.T) { rolloutAndScale(t, twoContainers) }
func TestNativeSidecar(t *testing.T) { rolloutAndScale(t, nativeSidecar) }

func rolloutAndScale(t *testing.T, mk func(*testing.T) variant) {
	cluster(t)
	v := mk(t)
	url := deploy(t, v)
	t.Run("rollout", func(t *testing.T) { rollout(t, v, url) })
	t.Run("scale down", func(t *testing.T) { scaleDown(t, v, url) })
	if v.asserted {
		noRestarts(t, v.app)
	}
}

func podURL(p *corev1.Pod, port int) string {
	return fmt.Sprintf("http://%s:%d", p.Status.PodIP, port)
}

var client = &http.Client{Timeout: 10 * time.Second}

func fetch(url string) (*http.Response, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// metric sums the samples of name whose labels include every one of labels.
func metric(t *testing.T, p *corev1.Pod, name string, labels ...string) (float64, bool) {
	_, body, err := fetch(podURL(p, 9180) + "/metrics")
	if err != nil {
		t.Logf("metrics of %s: %v", p.Name, err)
		return 0, false
	}
	var sum float64
	found := false
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		x, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += x
			found = true
		}
	}
	return sum, found
}

// nonRootStdio: under containerd's CRI stdio and runAsUser 33, lnmp-init's
// JSON, php-fpm's output and nginx's access log all reach kubectl logs.
func nonRootStdio(t *testing.T, v variant) {
	p := pods(t, v.app)[0]
	uid := strings.TrimSpace(mustKubectl(t, nil, "exec", p.Name, "-c", "app", "--", "id", "-u"))
	if uid != strconv.Itoa(debianWWWData) {
		t.Errorf("uid in the container %q, want %d", uid, debianWWWData)
	}
	if _, _, err := fetch(podURL(&p, 8080) + "/?stdio-check"); err != nil {
		t.Fatal(err)
	}
	var logs string
	var have map[string]bool
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		logs = mustKubectl(t, nil, "logs", p.Name, "-c", "app")
		have = map[string]bool{}
		for _, line := range strings.Split(logs, "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) != nil {
				continue
			}
			msg, _ := e["msg"].(string)
			switch {
			case e["logger"] == "lnmp-init" && msg == "ready: every child serves":
				have["lnmp-init JSON"] = true
			case e["child"] == "php-fpm" && strings.Contains(msg, "ready to handle connections"):
				have["php-fpm output"] = true
			case e["child"] == "nginx" && strings.Contains(msg, "GET /?stdio-check"):
				have["nginx access log"] = true
			}
		}
		if len(have) == 3 {
			break
		}
	}
	for _, k := range []string{"lnmp-init JSON", "php-fpm output", "nginx access log"} {
		if !have[k] {
			t.Errorf("kubectl logs %s: no %s; the logs:\n%s", p.Name, k, tail(logs, 20))
		}
	}
	record(row{v.name, "non-root stdio (uid " + uid + ")", 1, 0, fmt.Sprintf("in kubectl logs: %d of 3 (lnmp-init JSON, php-fpm, nginx access log)", len(have))})
}

func configMaps(t *testing.T, nginxEdit, poolEdit func(string) string) []any {
	cms := loadConfigMaps(t)
	n, f := cms["lnmp-example-nginx"], cms["lnmp-example-php-fpm"]
	n.Data["app.conf"] = nginxEdit(n.Data["app.conf"])
	f.Data["www.conf"] = poolEdit(f.Data["www.conf"])
	return []any{n, f}
}

func mustReplace(t *testing.T, s, old, new string) string {
	if !strings.Contains(s, old) {
		t.Fatalf("the shipped config has no %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

// servesVersion reports whether a pod serves config version v: the
// X-Lnmp-Config header nginx's change adds ("" for the shipped config) and
// APP_VERSION from the pool's env.
func servesVersion(p *corev1.Pod, header, appVersion string) bool {
	resp, body, err := fetch(podURL(p, 8080) + "/")
	return err == nil && resp.StatusCode == 200 && resp.Header.Get("X-Lnmp-Config") == header &&
		strings.Contains(body, "APP_VERSION="+appVersion+"\n")
}

// waitAll waits until cond holds for every pod, and returns how long each took.
func waitAll(t *testing.T, ps []corev1.Pod, within time.Duration, what string, cond func(*corev1.Pod) bool) []time.Duration {
	t.Helper()
	start := time.Now()
	took := make([]time.Duration, len(ps))
	for i := range ps {
		for !cond(&ps[i]) {
			if time.Since(start) > within {
				t.Fatalf("pod %s: not %s within %v", ps[i].Name, what, within)
			}
			time.Sleep(200 * time.Millisecond)
		}
		took[i] = time.Since(start)
	}
	return took
}

func secs(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.1f", d.Seconds()))
	}
	return strings.Join(s, ", ") + " s"
}

func v2(t *testing.T) []any {
	return configMaps(t,
		func(s string) string {
			return mustReplace(t, s, "listen 8080;", "listen 8080;\n    add_header X-Lnmp-Config v2 always;")
		},
		func(s string) string { return mustReplace(t, s, "env[APP_VERSION] = 1", "env[APP_VERSION] = 2") })
}

// configChange: nginx conf.d and the php-fpm pool changed with kubectl
// apply; every pod serves both within the sync period plus a few seconds.
func configChange(t *testing.T, v variant, url string) {
	ps := pods(t, v.app)
	bound := syncFrequency*3/2 + 20*time.Second
	measure(t, v, "ConfigMap change (conf.d + pool)", url, func() string {
		apply(t, v2(t)...)
		took := waitAll(t, ps, 2*time.Minute, "serving the new config", func(p *corev1.Pod) bool { return servesVersion(p, "v2", "2") })
		for i, d := range took {
			if d > bound {
				t.Errorf("pod %s served the new config after %v, want within %v", ps[i].Name, d, bound)
			}
		}
		return "new config served after " + secs(took)
	})
	noRestarts(t, v.app)
}

// brokenConfig: a ConfigMap neither nginx nor php-fpm accepts. The pods
// keep serving the last good config, nothing restarts, kubectl logs and
// /metrics show the refusal; restoring the shipped ConfigMaps recovers.
func brokenConfig(t *testing.T, v variant, url string) {
	ps := pods(t, v.app)
	broken := configMaps(t,
		func(s string) string {
			return mustReplace(t, s, "listen 8080;", "listen 8080;\n    no_such_directive on;")
		},
		func(s string) string { return mustReplace(t, s, "pm.max_children = 16", "pm.max_children = -3") })
	refused := func(child string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			x, ok := metric(t, p, "lnmp_config_refused", `child="`+child+`"`)
			return ok && x == 1
		}
	}
	restored := false
	t.Cleanup(func() {
		if !restored { // new pods would start on the broken config and fail
			apply(t, configMapObjects(t)...)
		}
	})
	measure(t, v, "broken ConfigMap", url, func() string {
		apply(t, broken...)
		took := waitAll(t, ps, 2*time.Minute, "refusing nginx's change", refused("nginx"))
		waitAll(t, ps, time.Minute, "refusing php-fpm's change", refused("php-fpm"))
		for i := range ps {
			for _, child := range []string{"nginx", "php-fpm"} {
				if x, _ := metric(t, &ps[i], "lnmp_reloads_total", `child="`+child+`"`, `result="invalid"`); x < 1 {
					t.Errorf("pod %s: lnmp_reloads_total{child=%q,result=\"invalid\"} = %v, want >= 1", ps[i].Name, child, x)
				}
			}
			if !servesVersion(&ps[i], "v2", "2") {
				t.Errorf("pod %s does not serve the last good config", ps[i].Name)
			}
			logs := mustKubectl(t, nil, "logs", ps[i].Name, "-c", "app")
			if n := strings.Count(logs, "config reload refused"); n < 2 {
				t.Errorf("pod %s: %d \"config reload refused\" lines in kubectl logs, want one per child", ps[i].Name, n)
			}
		}
		return "refused (metrics, logs) after " + secs(took)
	})
	noRestarts(t, v.app)
	measure(t, v, "ConfigMap restored", url, func() string {
		apply(t, configMapObjects(t)...)
		restored = true
		took := waitAll(t, ps, 2*time.Minute, "serving the shipped config again", func(p *corev1.Pod) bool {
			a, _ := metric(t, p, "lnmp_config_refused", `child="nginx"`)
			b, _ := metric(t, p, "lnmp_config_refused", `child="php-fpm"`)
			return a == 0 && b == 0 && servesVersion(p, "", "1")
		})
		return "recovered after " + secs(took)
	})
	noRestarts(t, v.app)
}

// fpmCrash: php-fpm's master SIGKILLed inside a pod. lnmp-init restarts it;
// the container does not restart. Failed requests are reported.
func fpmCrash(t *testing.T, v variant, url string) {
	p := pods(t, v.app)[0]
	before, _ := metric(t, &p, "lnmp_child_restarts_total", `child="php-fpm"`)
	r := measure(t, variant{name: v.name}, "php-fpm master SIGKILL in one pod", url, func() string {
		mustKubectl(t, nil, "exec", p.Name, "-c", "app", "--", "sh", "-c", "kill -9 $(cat /tmp/php-fpm.pid)")
		took := waitAll(t, []corev1.Pod{p}, time.Minute, "restarting php-fpm", func(p *corev1.Pod) bool {
			x, _ := metric(t, p, "lnmp_child_restarts_total", `child="php-fpm"`)
			return x > before && servesVersion(p, "", "1")
		})
		return "php-fpm restarted and serving after " + secs(took)
	})
	_ = r
	noRestarts(t, v.app)
}

// deletionTimeline deletes one pod while slow requests to it are in flight,
// and records when its endpoint turned not ready, when lnmp-init got
// SIGTERM, sent nginx SIGQUIT, and exited.
func deletionTimeline(t *testing.T, v variant, url string) {
	ps := pods(t, v.app)
	victim := ps[0]
	grace := time.Duration(*victim.Spec.TerminationGracePeriodSeconds) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// lnmp-init's log, followed from before the delete (gone with the pod).
	logs := exec.CommandContext(ctx, kubectlPath(), "--kubeconfig", kubeconfig(), "logs", "-f", victim.Name, "-c", "app", "--since=1s")
	logOut, _ := logs.StdoutPipe()
	var mu sync.Mutex
	var lines []string
	logDone := make(chan struct{})
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(logOut)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
	}()
	// The EndpointSlice, watched: when the victim's endpoint stops being ready.
	var notReady time.Time
	watch := exec.CommandContext(ctx, kubectlPath(), "--kubeconfig", kubeconfig(), "get", "endpointslices", "-l", "kubernetes.io/service-name="+v.app, "-w", "-o", "json")
	watchOut, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = watch.Wait(); _ = logs.Wait() }()
	go func() {
		dec := json.NewDecoder(watchOut)
		for {
			var s discoveryv1.EndpointSlice
			if dec.Decode(&s) != nil {
				return
			}
			now := time.Now()
			seen := false
			for _, e := range s.Endpoints {
				if e.TargetRef != nil && e.TargetRef.Name == victim.Name {
					seen = true
					if e.Conditions.Ready != nil && !*e.Conditions.Ready {
						mu.Lock()
						if notReady.IsZero() {
							notReady = now
						}
						mu.Unlock()
					}
				}
			}
			_ = seen
		}
	}()
	time.Sleep(2 * time.Second) // the watch and the log stream are up

	var deleted time.Time
	var slowOK, slowN int
	r := measure(t, v, "pod deleted, 3 slow (8 s) requests to it in flight", url, func() string {
		var wg sync.WaitGroup
		var smu sync.Mutex
		slow := &http.Client{Timeout: 40 * time.Second}
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := get(slow, podURL(&victim, 8080)+"/slow.php?s=8", "Slept")
				smu.Lock()
				slowN++
				if err == nil {
					slowOK++
				} else {
					t.Logf("slow request to the deleted pod: %v", err)
				}
				smu.Unlock()
			}()
		}
		time.Sleep(time.Second)
		deleted = time.Now()
		mustKubectl(t, nil, "delete", "pod", victim.Name, "--wait=false")
		wg.Wait()
		select {
		case <-logDone:
		case <-time.After(grace + 30*time.Second):
			t.Errorf("the log stream of %s did not end", victim.Name)
		}
		waitPods(t, v.app, replicas, 2*time.Minute)
		return ""
	})
	_ = r
	mu.Lock()
	defer mu.Unlock()
	at := map[string]time.Time{}
	for _, line := range lines {
		var e struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			Child  string    `json:"child"`
			Signal string    `json:"signal"`
		}
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch {
		case e.Msg == "signal received" && at["SIGTERM"].IsZero():
			at["SIGTERM"] = e.Time
		case e.Msg == "stopping child" && e.Child == "nginx":
			at["nginx SIGQUIT"] = e.Time
		case e.Msg == "stopped":
			at["exited"] = e.Time
		}
	}
	rel := func(x time.Time) string {
		if x.IsZero() {
			return "never seen"
		}
		return fmt.Sprintf("%+.2f s", x.Sub(deleted).Seconds())
	}
	timeline := fmt.Sprintf("endpoint not ready %s, SIGTERM %s, nginx SIGQUIT %s, lnmp-init exited %s (grace %v); slow requests to the pod %d/%d answered",
		rel(notReady), rel(at["SIGTERM"]), rel(at["nginx SIGQUIT"]), rel(at["exited"]), grace, slowOK, slowN)
	t.Log(timeline)
	record(row{v.name, "deletion timeline (from the delete)", slowN, slowN - slowOK, timeline})
	for _, k := range []string{"SIGTERM", "nginx SIGQUIT", "exited"} {
		if at[k].IsZero() {
			t.Errorf("no %s in lnmp-init's log; the last lines:\n%s", k, tail(strings.Join(lines, "\n"), 15))
		}
	}
	if notReady.IsZero() {
		t.Error("the EndpointSlice never showed the pod not ready")
	}
	if !at["exited"].IsZero() && at["exited"].Sub(deleted) >= grace {
		t.Errorf("lnmp-init exited %v after the delete, not before the grace period %v", at["exited"].Sub(deleted), grace)
	}
	if !notReady.IsZero() && !at["nginx SIGQUIT"].IsZero() && !at["nginx SIGQUIT"].After(notReady) {
		t.Errorf("nginx got SIGQUIT (%s) before the endpoint was not ready (%s)", rel(at["nginx SIGQUIT"]), rel(notReady))
	}
	if slowOK != slowN {
		t.Errorf("%d of %d slow requests to the deleted pod failed", slowN-slowOK, slowN)
	}
}

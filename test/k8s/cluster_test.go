// Package k8s plays issue 10's and 13's scenes in a real single-node
// Kubernetes: the example manifests of examples/kubernetes, applied as
// shipped but for what this machine forces, under load sent through each
// Service's ClusterIP. `make k8s-test` brings the cluster up
// (scripts/k8s/up), runs these tests with LNMP_K8S_TEST=1, and takes it down.
// README.md in this directory says what each scenario asserts.
package k8s

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	enableEnv = "LNMP_K8S_TEST"
	// The example image on the mmdebstrap base (make image-build), and the
	// same image with STOPSIGNAL SIGQUIT and no entrypoint for the recipe.
	exampleImage = "lnmp-init-test:local"
	recipeImage  = "lnmp-k8s-recipe:local"
	// Debian's www-data; the manifests name the Alpine images' 82.
	debianWWWData = 33
	nodeName      = "localhost"
	replicas      = 3
	kubeDir       = "../../examples/kubernetes"
)

var (
	runDir   = envOr("LNMP_K8S_RUN", "/var/lib/lnmp-init/k8s-run")
	cacheDir = envOr("LNMP_K8S_CACHE", "/var/cache/lnmp-init/k8s")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func kubectlPath() string { return filepath.Join(cacheDir, "bin", "kubectl") }
func kubeconfig() string  { return filepath.Join(runDir, "admin.kubeconfig") }
func ctrSocket() string   { return filepath.Join(runDir, "containerd", "containerd.sock") }

// results is the table TestMain prints at the end.
var results struct {
	sync.Mutex
	rows           []row
	passed, failed int
}

type row struct {
	variant, scenario string
	requests, failed  int
	detail            string
}

func record(r row) {
	results.Lock()
	defer results.Unlock()
	results.rows = append(results.rows, r)
}

func TestMain(m *testing.M) {
	code := m.Run()
	results.Lock()
	if len(results.rows) > 0 {
		fmt.Println()
		fmt.Println("| variant | scenario | requests | failed | detail |")
		fmt.Println("|---|---|---:|---:|---|")
		for _, r := range results.rows {
			fmt.Printf("| %s | %s | %d | %d | %s |\n", r.variant, r.scenario, r.requests, r.failed, r.detail)
		}
	}
	fmt.Printf("\n%d passed, %d failed\n", results.passed, results.failed)
	results.Unlock()
	os.Exit(code)
}

// cluster skips (or, in CI, fails) t unless the test cluster is up, and
// imports the images once. Every top-level test calls it first.
func cluster(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		results.Lock()
		defer results.Unlock()
		if t.Failed() {
			results.failed++
		} else if !t.Skipped() {
			results.passed++
		}
	})
	// Like test/image's LNMP_IMAGE_TEST: make test (where CI sets
	// LNMP_REQUIRE_INTEGRATION) skips these, make k8s-test (which CI also
	// runs) turns them on, and then a missing cluster is a failure.
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("%s is not 1: these tests need the cluster `make k8s-test` brings up (scripts/k8s/up)", enableEnv)
	}
	if _, err := os.Stat(kubeconfig()); err != nil {
		t.Fatalf("%s=1, but no cluster: %v (scripts/k8s/up)", enableEnv, err)
	}
	if _, err := os.Stat(kubectlPath()); err != nil {
		testenv.SkipOrFail(t, "no kubectl: %v (scripts/k8s/build)", err)
	}
	if err := importImages(); err != nil {
		t.Fatalf("images: %v", err)
	}
}

var importImages = sync.OnceValue(func() error {
	if err := run(nil, "docker", "image", "inspect", exampleImage); err != nil {
		return fmt.Errorf("%s missing (make image-build): %w", exampleImage, err)
	}
	recipe := "FROM " + exampleImage + "\n" +
		"# The write-up's recipe: nginx and php-fpm each stopped by SIGQUIT, no lnmp-init.\n" +
		"STOPSIGNAL SIGQUIT\nENTRYPOINT []\n"
	if err := run(strings.NewReader(recipe), "docker", "build", "-q", "-t", recipeImage, "-"); err != nil {
		return err
	}
	for _, img := range []string{exampleImage, recipeImage} {
		if err := run(nil, "sh", "-c", "docker save "+img+" | ctr -a "+ctrSocket()+" -n k8s.io images import -"); err != nil {
			return fmt.Errorf("import %s: %w", img, err)
		}
	}
	// The recipe image (metadata over the example image, rebuilt in a
	// moment) lives on in the cluster's containerd only: Docker keeps the
	// images it had, and the example image that make image-build made.
	return run(nil, "docker", "rmi", recipeImage)
})

func run(stdin io.Reader, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// kubectl runs kubectl against the test cluster and returns its stdout.
func kubectl(stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlPath(), append([]string{"--kubeconfig", kubeconfig()}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

func mustKubectl(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, err := kubectl(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apply sends objects to kubectl apply as one JSON list.
func apply(t *testing.T, objs ...any) {
	t.Helper()
	items := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	list, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	mustKubectl(t, list, "apply", "-f", "-")
}

// decodeFile reads the YAML documents of one manifest file.
func decodeFile(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if s := string(bytes.TrimSpace(js)); s == "null" || s == "" {
			continue
		}
		docs = append(docs, js)
	}
}

func loadDeployment(t *testing.T, file string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	for _, js := range decodeFile(t, filepath.Join(kubeDir, file)) {
		if err := json.Unmarshal(js, &d); err != nil {
			t.Fatal(err)
		}
	}
	return &d
}

func loadService(t *testing.T, file string) *corev1.Service {
	t.Helper()
	var s corev1.Service
	for _, js := range decodeFile(t, filepath.Join(kubeDir, file)) {
		if err := json.Unmarshal(js, &s); err != nil {
			t.Fatal(err)
		}
	}
	return &s
}

// loadConfigMaps returns configmaps.yaml's ConfigMaps by name.
func loadConfigMaps(t *testing.T) map[string]*corev1.ConfigMap {
	t.Helper()
	out := map[string]*corev1.ConfigMap{}
	for _, js := range decodeFile(t, filepath.Join(kubeDir, "configmaps.yaml")) {
		var cm corev1.ConfigMap
		if err := json.Unmarshal(js, &cm); err != nil {
			t.Fatal(err)
		}
		out[cm.Name] = &cm
	}
	return out
}

// patchForMachine changes what this machine forces and nothing else: the
// image (built here, never pulled), the uid of Debian's www-data, the node
// (no scheduler runs) and the replica count the scenarios use.
func patchForMachine(d *appsv1.Deployment, image string) {
	n := int32(replicas)
	d.Spec.Replicas = &n
	ps := &d.Spec.Template.Spec
	ps.NodeName = nodeName
	if sc := ps.SecurityContext; sc != nil {
		uid := int64(debianWWWData)
		if sc.RunAsUser != nil {
			sc.RunAsUser = &uid
		}
		if sc.RunAsGroup != nil {
			sc.RunAsGroup = &uid
		}
	}
	for _, cs := range [][]corev1.Container{ps.InitContainers, ps.Containers} {
		for i := range cs {
			cs[i].Image = image
			cs[i].ImagePullPolicy = corev1.PullNever
		}
	}
}

// rename gives a copy of a shipped Deployment and Service a name and a label
// of their own, for the side-by-side variants.
func rename(d *appsv1.Deployment, s *corev1.Service, name string) {
	labels := map[string]string{"app.kubernetes.io/name": name}
	d.Name, s.Name = name, name
	d.Labels, s.Labels = labels, labels
	d.Spec.Selector.MatchLabels = labels
	d.Spec.Template.Labels = labels
	s.Spec.Selector = labels
}

// pods lists the pods of app name, terminating ones included.
func pods(t *testing.T, app string) []corev1.Pod {
	t.Helper()
	out, err := kubectl(nil, "get", "pods", "-l", "app.kubernetes.io/name="+app, "-o", "json")
	if err != nil {
		t.Log(err)
		return nil
	}
	var l corev1.PodList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitPods waits until app has exactly n pods, all ready, none terminating.
func waitPods(t *testing.T, app string, n int, within time.Duration) []corev1.Pod {
	t.Helper()
	end := time.Now().Add(within)
	var last []corev1.Pod
	for time.Now().Before(end) {
		last = pods(t, app)
		ok := len(last) == n
		for i := range last {
			if last[i].DeletionTimestamp != nil || !podReady(&last[i]) {
				ok = false
			}
		}
		if ok {
			return last
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, p := range last {
		t.Logf("pod %s phase %s ready %v deleting %v", p.Name, p.Status.Phase, podReady(&p), p.DeletionTimestamp != nil)
	}
	out, _ := kubectl(nil, "get", "events", "--sort-by=.lastTimestamp")
	t.Logf("events:\n%s", tail(out, 30))
	t.Fatalf("%s: not %d ready pods within %v", app, n, within)
	return nil
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, c := range cs {
			n += c.RestartCount
		}
	}
	return n
}

// clusterIP is the Service's address, routed to the cluster's bridge.
func clusterIP(t *testing.T, svc string) string {
	t.Helper()
	return strings.TrimSpace(mustKubectl(t, nil, "get", "service", svc, "-o", "jsonpath={.spec.clusterIP}"))
}

// deleteApp removes a variant and waits until its pods are gone.
func deleteApp(t *testing.T, app string, objs ...string) {
	t.Helper()
	args := append([]string{"delete", "--ignore-not-found", "--wait=true", "--timeout=90s"}, objs...)
	if _, err := kubectl(nil, args...); err != nil {
		t.Log(err)
	}
	end := time.Now().Add(90 * time.Second)
	for time.Now().Before(end) && len(pods(t, app)) > 0 {
		time.Sleep(500 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

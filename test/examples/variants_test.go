package examples_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/lnmp-init/lnmp-init/stack"
	"github.com/lnmp-init/lnmp-init/supervisor"
)

// The two-container variants of the example, in their own directories.
const (
	twoContainersDir = "two-containers"
	nativeSidecarDir = "native-sidecar"
)

// variant is one two-container variant's Deployment and Service.
type variant struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
}

func loadVariant(t *testing.T, dir string) variant {
	t.Helper()
	var v variant
	paths, _ := filepath.Glob(filepath.Join(kubeDir, dir, "*.yaml"))
	if len(paths) == 0 {
		t.Fatalf("no manifests in %s/%s", kubeDir, dir)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeYAML(f)
		_ = f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, o := range objs {
			switch o := o.(type) {
			case *appsv1.Deployment:
				v.deployment = o
			case *corev1.Service:
				v.service = o
			default:
				t.Fatalf("%s: unexpected %T", p, o)
			}
		}
	}
	if v.deployment == nil || v.service == nil {
		t.Fatalf("%s: want a Deployment and a Service", dir)
	}
	return v
}

// side finds the container (or native sidecar) that runs one server.
func side(t *testing.T, d *appsv1.Deployment, only string) (*corev1.Container, bool) {
	t.Helper()
	spec := &d.Spec.Template.Spec
	for i := range spec.InitContainers {
		if v, _ := envValue(&spec.InitContainers[i], "LNMP_ONLY"); v == only {
			return &spec.InitContainers[i], true
		}
	}
	for i := range spec.Containers {
		if v, _ := envValue(&spec.Containers[i], "LNMP_ONLY"); v == only {
			return &spec.Containers[i], false
		}
	}
	t.Fatalf("Deployment %s has no container with LNMP_ONLY=%s", d.Name, only)
	return nil, false
}

// probesAskTheirLnmpInit: each side's probes ask its own lnmp-init, on the
// port its LNMP_HEALTH_ADDR names; the two ports differ (one network).
func probesAskTheirLnmpInit(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	var ports []string
	for _, only := range []string{"nginx", "php-fpm"} {
		c, _ := side(t, d, only)
		addr, ok := envValue(c, "LNMP_HEALTH_ADDR")
		if !ok {
			t.Errorf("%s: no LNMP_HEALTH_ADDR: both sides would take :9180", c.Name)
			continue
		}
		_, port, _ := strings.Cut(addr, ":")
		ports = append(ports, port)
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if p == nil || p.HTTPGet == nil {
				continue
			}
			n, err := resolvePort(c, p.HTTPGet.Port)
			if err != nil || n == 0 || port != strconv.Itoa(int(n)) {
				t.Errorf("%s: a probe asks port %v (%d, %v), lnmp-init listens on %s", c.Name, p.HTTPGet.Port, n, err, addr)
			}
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: readiness and liveness probes on lnmp-init expected", c.Name)
		}
	}
	if len(ports) == 2 && ports[0] == ports[1] {
		t.Errorf("both sides' lnmp-init listen on port %s of the pod's one network", ports[0])
	}
}

// plan is the stop plan of one side, as lnmp-init builds it.
func plan(t *testing.T, c *corev1.Container, ec *exampleConfigs, peer bool) supervisor.Config {
	t.Helper()
	only, _ := envValue(c, "LNMP_ONLY")
	timing := stack.Timing{DrainDelay: envDuration(t, c, "LNMP_DRAIN_DELAY"), StopTimeout: envDuration(t, c, "LNMP_STOP_TIMEOUT")}
	var cfg supervisor.Config
	if only == "nginx" {
		cfg = stack.Policy(nil, ec.nginx, timing)
	} else {
		cfg = stack.Policy(ec.fpm, nil, timing)
		if peer {
			cfg.Children[0].BeforeStop = func(context.Context) {}
		}
	}
	for _, s := range cfg.Plan() {
		t.Logf("  %s: %5.1f - %5.1f s  %s", c.Name, s.Start.Seconds(), s.End.Seconds(), s.Name)
	}
	if !cfg.PlanFits() {
		t.Errorf("%s: the stop plan needs %v, LNMP_STOP_TIMEOUT is %v", c.Name, cfg.StopTimeoutNeeded(), cfg.StopTimeout)
	}
	return cfg
}

func TestTwoContainerPod(t *testing.T) {
	v := loadVariant(t, twoContainersDir)
	ec := loadExampleConfigs(t)
	d := v.deployment
	probesAskTheirLnmpInit(t, d)
	ngx, _ := side(t, d, "nginx")
	fpm, _ := side(t, d, "php-fpm")
	// The same lock file, in a volume both mount at the same place.
	lockN, _ := envValue(ngx, "LNMP_PEER_LOCK")
	lockF, _ := envValue(fpm, "LNMP_PEER_LOCK")
	if lockN == "" || lockN != lockF {
		t.Fatalf("LNMP_PEER_LOCK: nginx side %q, php-fpm side %q; want one path on both", lockN, lockF)
	}
	mountOf := func(c *corev1.Container) string {
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(lockN, m.MountPath+"/") && !m.ReadOnly {
				return m.Name
			}
		}
		return ""
	}
	if a, b := mountOf(ngx), mountOf(fpm); a == "" || a != b {
		t.Errorf("the peer lock %s is on volume %q in nginx, %q in php-fpm; want one writable volume both mount", lockN, a, b)
	}
	// Both are signalled at once: each must be done before the kill, and
	// php-fpm must wait at least as long as nginx may take.
	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	nPlan, fPlan := plan(t, ngx, ec, false), plan(t, fpm, ec, true)
	for _, cfg := range []supervisor.Config{nPlan, fPlan} {
		if cfg.StopTimeout+time.Second > grace {
			t.Errorf("stop timeout %v does not end a second before the grace period %v", cfg.StopTimeout, grace)
		}
	}
	i := slices.IndexFunc(fPlan.Plan(), func(s supervisor.PlanStep) bool { return s.Name == "peer" })
	if i < 0 {
		t.Fatal("the php-fpm side's plan has no wait for the peer")
	}
	if wait := fPlan.Plan()[i].End; wait < nPlan.StopTimeout {
		t.Errorf("php-fpm waits for nginx until %v, but nginx may take until %v", wait, nPlan.StopTimeout)
	}
	if v.service.Spec.Selector["app.kubernetes.io/name"] != d.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Errorf("the Service selects %v, the pods are %v", v.service.Spec.Selector, d.Spec.Template.Labels)
	}
}

func TestNativeSidecarPod(t *testing.T) {
	v := loadVariant(t, nativeSidecarDir)
	ec := loadExampleConfigs(t)
	d := v.deployment
	probesAskTheirLnmpInit(t, d)
	fpm, isInit := side(t, d, "php-fpm")
	ngx, ngxInit := side(t, d, "nginx")
	if !isInit || fpm.RestartPolicy == nil || *fpm.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Fatal("php-fpm is not a native sidecar: an init container with restartPolicy: Always")
	}
	if ngxInit {
		t.Fatal("nginx must be the main container")
	}
	if fpm.StartupProbe == nil || fpm.StartupProbe.HTTPGet == nil || fpm.StartupProbe.HTTPGet.Path != "/readyz" {
		t.Error("the sidecar needs a startupProbe on its /readyz: it is what holds nginx back until php-fpm serves")
	}
	if _, set := envValue(fpm, "LNMP_PEER_LOCK"); set {
		t.Error("a native sidecar needs no peer lock: Kubernetes stops it after nginx")
	}
	// The sidecar's stop begins after nginx has exited: one grace period
	// holds both, one after the other.
	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	nPlan, fPlan := plan(t, ngx, ec, false), plan(t, fpm, ec, false)
	if total := nPlan.StopTimeout + fPlan.StopTimeout; total+time.Second > grace {
		t.Errorf("nginx's %v then php-fpm's %v do not end a second before the grace period %v", nPlan.StopTimeout, fPlan.StopTimeout, grace)
	}
}

// Package examples_test checks that the examples agree with each other and
// with lnmp-init: the Kubernetes manifests decode into the real API types,
// probe lnmp-init where it listens, mount the configs as the configs include
// them, carry the same config files, and give lnmp-init's stop plan the time
// it needs; the Dockerfiles build the image the manifests assume.
package examples_test

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lnmp-init/lnmp-init/stack"
)

const (
	// healthPort is lnmp-init's --health-addr (:9180 by default).
	healthPort = 9180
	// wwwDataUID is www-data in the official php:*-alpine images, the
	// Dockerfile's final base.
	wwwDataUID = 82
)

// TestManifestsDecodeStrictly: every object decodes strictly (loadManifests
// fails otherwise) and carries the example's name label, which the Service
// selects on and `kubectl delete -l` cleans up by.
func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	t.Logf("Deployment %s, Service %s, ConfigMaps %v", m.deployment.Name, m.service.Name, slices.Sorted(maps.Keys(m.configMaps)))
	const label = "app.kubernetes.io/name"
	want := m.deployment.Labels[label]
	if want == "" {
		t.Fatalf("Deployment %s has no %s label", m.deployment.Name, label)
	}
	if got := m.service.Labels[label]; got != want {
		t.Errorf("Service %s: %s=%q, want %q", m.service.Name, label, got, want)
	}
	for name, cm := range m.configMaps {
		if got := cm.Labels[label]; got != want {
			t.Errorf("ConfigMap %s: %s=%q, want %q", name, label, got, want)
		}
	}
}

// TestStrictDecoderRefuses makes sure the decoder the other tests rely on
// is strict, so a typo in a manifest cannot pass as an unset field.
func TestStrictDecoderRefuses(t *testing.T) {
	base := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n"
	for name, doc := range map[string]string{
		"unknown field": base + "      preStopSleep: 5\n",
		"wrong case":    base + "      TerminationGracePeriodSeconds: 30\n",
		"duplicate key": base + "      terminationGracePeriodSeconds: 30\n      terminationGracePeriodSeconds: 60\n",
		"unknown kind":  "apiVersion: v1\nkind: Pot\nmetadata:\n  name: x\n",
		"no kind":       "apiVersion: v1\nmetadata:\n  name: x\n",
	} {
		if objs, err := decodeYAML(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: decoded without error into %T", name, objs[0])
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestProbesAskLnmpInit(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	drain := envDuration(t, c, "LNMP_DRAIN_DELAY")
	if v, ok := envValue(c, "LNMP_HEALTH_ADDR"); ok && !strings.HasSuffix(v, fmt.Sprintf(":%d", healthPort)) {
		t.Errorf("LNMP_HEALTH_ADDR=%q moves the probes off %d, where the probes below look", v, healthPort)
	}
	probes := []struct {
		field    string
		probe    *corev1.Probe
		paths    []string
		required bool
	}{
		{"readinessProbe", c.ReadinessProbe, []string{"/readyz"}, true},
		{"livenessProbe", c.LivenessProbe, []string{"/livez"}, true},
		// A startup probe gates liveness; either endpoint makes sense.
		{"startupProbe", c.StartupProbe, []string{"/readyz", "/livez"}, false},
	}
	for _, p := range probes {
		if p.probe == nil {
			if p.required {
				t.Errorf("%s: missing", p.field)
			}
			continue
		}
		get := p.probe.HTTPGet
		if get == nil {
			t.Errorf("%s: want httpGet on lnmp-init's %s, got %+v", p.field, p.paths[0], p.probe.ProbeHandler)
			continue
		}
		if !slices.Contains(p.paths, get.Path) {
			t.Errorf("%s: path %q, want one of %q", p.field, get.Path, p.paths)
		}
		port, err := resolvePort(c, get.Port)
		switch {
		case err != nil:
			t.Errorf("%s: %v", p.field, err)
		case port != healthPort:
			t.Errorf("%s: port %q is %d; lnmp-init answers on %d", p.field, get.Port.String(), port, healthPort)
		}
		if get.Host != "" || (get.Scheme != "" && get.Scheme != "HTTP") {
			t.Errorf("%s: host %q scheme %q: lnmp-init serves plain HTTP on the pod's address", p.field, get.Host, get.Scheme)
		}
	}
	// Readiness must notice the drain while it lasts.
	if r := c.ReadinessProbe; r != nil {
		period, failures := orDefault(r.PeriodSeconds, 10), orDefault(r.FailureThreshold, 3)
		if took := time.Duration(period*failures) * time.Second; took > drain {
			t.Errorf("readinessProbe: %d failures every %ds take %v to mark the pod unready, longer than the %v drain delay",
				failures, period, took, drain)
		}
	}
}

func TestNoPreStopSleep(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		t.Errorf("container %s has a preStop hook (%+v): LNMP_DRAIN_DELAY replaces a preStop sleep, and the two would add up",
			c.Name, *c.Lifecycle.PreStop)
	}
}

// TestConfigMapsMountWhereConfigsInclude: every ConfigMap volume is mounted
// as a directory (subPath never updates, so hot reload would never fire) on
// a directory the example configs include *.conf from, and every such
// directory has one.
func TestConfigMapsMountWhereConfigsInclude(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	dirs := loadExampleConfigs(t).includeDirs()
	if len(dirs) == 0 {
		t.Fatal("the example configs include nothing under " + srvLnmp)
	}
	mounted := map[string]string{} // dir -> ConfigMap
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if v.Projected != nil {
			t.Errorf("volume %s is projected; the example mounts each ConfigMap as its own volume", v.Name)
		}
		if v.ConfigMap == nil {
			continue
		}
		cm := m.configMaps[v.ConfigMap.Name]
		if cm == nil {
			t.Errorf("volume %s: ConfigMap %s is not in %s", v.Name, v.ConfigMap.Name, kubeDir)
			continue
		}
		files := slices.Sorted(maps.Keys(cm.Data))
		if len(v.ConfigMap.Items) > 0 {
			files = nil
			for _, it := range v.ConfigMap.Items {
				files = append(files, it.Path)
			}
		}
		n := 0
		for _, vm := range c.VolumeMounts {
			if vm.Name != v.Name {
				continue
			}
			n++
			if vm.SubPath != "" || vm.SubPathExpr != "" {
				t.Errorf("volume %s is mounted with subPath %q on %s: the kubelet never updates a subPath mount, so a ConfigMap edit would never reach lnmp-init; mount the directory",
					v.Name, vm.SubPath+vm.SubPathExpr, vm.MountPath)
				continue
			}
			dir := path.Clean(vm.MountPath)
			glob, ok := dirs[dir]
			if !ok {
				t.Errorf("volume %s is mounted on %s, which the example configs do not include from; they include %v", v.Name, dir, dirs)
				continue
			}
			mounted[dir] = cm.Name
			for _, f := range files {
				if ok, _ := path.Match(glob, f); !ok || strings.Contains(f, "/") {
					t.Errorf("ConfigMap %s: %s/%s is not read: the configs include %s/%s", cm.Name, dir, f, dir, glob)
				}
			}
		}
		if n == 0 {
			t.Errorf("volume %s (ConfigMap %s) is mounted nowhere", v.Name, cm.Name)
		}
	}
	for dir := range dirs {
		if mounted[dir] == "" {
			t.Errorf("no ConfigMap is mounted on %s, which the example configs include from", dir)
		}
	}
	for name := range m.configMaps {
		if !slices.Contains(slices.Collect(maps.Values(mounted)), name) {
			t.Errorf("ConfigMap %s is not mounted by the Deployment", name)
		}
	}
}

// TestConfigMapsHoldTheExampleFiles: a ConfigMap mounted on /srv/lnmp/X
// holds exactly the files of examples/config/X, byte for byte: the demo, the
// image and the cluster serve the same configs.
func TestConfigMapsHoldTheExampleFiles(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	byVolume := map[string]string{}
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			byVolume[v.Name] = v.ConfigMap.Name
		}
	}
	checked := 0
	for _, vm := range c.VolumeMounts {
		cm := m.configMaps[byVolume[vm.Name]]
		if cm == nil {
			continue
		}
		rel, ok := strings.CutPrefix(path.Clean(vm.MountPath), srvLnmp+"/")
		if !ok {
			t.Errorf("ConfigMap %s is mounted on %s, outside %s where examples/config goes", cm.Name, vm.MountPath, srvLnmp)
			continue
		}
		checked++
		dir := filepath.Join(configDir, filepath.FromSlash(rel))
		if len(cm.BinaryData) > 0 {
			t.Errorf("ConfigMap %s has binaryData; the example configs are text", cm.Name)
		}
		for key, data := range cm.Data {
			want, err := os.ReadFile(filepath.Join(dir, key))
			if err != nil {
				t.Errorf("ConfigMap %s key %s: no such example file: %v", cm.Name, key, err)
				continue
			}
			if data != string(want) {
				t.Errorf("ConfigMap %s key %s differs from %s:\n%s", cm.Name, key, filepath.Join(dir, key), firstDiff(data, string(want)))
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if _, ok := cm.Data[e.Name()]; !ok && !e.IsDir() {
				t.Errorf("ConfigMap %s lacks %s: mounted over %s it hides the image's copy", cm.Name, filepath.Join(dir, e.Name()), vm.MountPath)
			}
		}
	}
	if checked == 0 {
		t.Error("no ConfigMap is mounted under " + srvLnmp)
	}
}

// TestGracePeriodHoldsStopPlan computes the stop plan as `lnmp-init check`
// does for the example configs and the Deployment's settings: it must fit
// LNMP_STOP_TIMEOUT, and lnmp-init must be done a second before the kubelet
// SIGKILLs the pod.
func TestGracePeriodHoldsStopPlan(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	ec := loadExampleConfigs(t)
	pct := ec.fpm.ProcessControlTimeout
	if pct == 0 {
		t.Fatalf("%s: process_control_timeout is 0: php-fpm's graceful stop would cut every request", ec.fpm.Path)
	}
	// The policy lnmp-init itself builds from these configs and settings.
	cfg := stack.Policy(ec.fpm, ec.nginx, stack.Timing{
		DrainDelay:  envDuration(t, c, "LNMP_DRAIN_DELAY"),
		StopTimeout: envDuration(t, c, "LNMP_STOP_TIMEOUT"),
	})
	spec := m.deployment.Spec.Template.Spec
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds is not set; set it explicitly to fit the stop plan")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	t.Logf("process_control_timeout %v, drain %v, stop timeout %v, grace %v", pct, cfg.DrainDelay, cfg.StopTimeout, grace)
	for _, s := range cfg.Plan() {
		t.Logf("  %5.1f - %5.1f s  %s", s.Start.Seconds(), s.End.Seconds(), s.Name)
	}
	if !cfg.PlanFits() {
		t.Errorf("the stop plan needs %v but LNMP_STOP_TIMEOUT is %v: php-fpm's requests would be cut", cfg.StopTimeoutNeeded(), cfg.StopTimeout)
	}
	if grace < cfg.StopTimeout+time.Second {
		t.Errorf("terminationGracePeriodSeconds %v: the kubelet would SIGKILL the pod before lnmp-init's stop timeout %v (+1 s) ends", grace, cfg.StopTimeout)
	}
}

func TestSecurityContext(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	pod := m.deployment.Spec.Template.Spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	ctr := c.SecurityContext
	if ctr == nil {
		ctr = &corev1.SecurityContext{}
	}
	if v := firstSet(ctr.RunAsNonRoot, pod.RunAsNonRoot); v == nil || !*v {
		t.Error("runAsNonRoot is not true")
	}
	if v := firstSet(ctr.RunAsUser, pod.RunAsUser); v == nil || *v != wwwDataUID {
		t.Errorf("runAsUser is %v, want %d (www-data in the php:*-alpine image; the image's USER is a name, which runAsNonRoot cannot check)", deref(v), wwwDataUID)
	}
	if v := ctr.ReadOnlyRootFilesystem; v == nil || !*v {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if v := ctr.AllowPrivilegeEscalation; v == nil || *v {
		t.Error("allowPrivilegeEscalation is not false")
	}
	// With a read-only root, every path nginx and php-fpm write must be on
	// the emptyDir at /tmp.
	tmp := ""
	for _, vm := range c.VolumeMounts {
		if path.Clean(vm.MountPath) == "/tmp" {
			tmp = vm.Name
		}
	}
	isEmptyDir := slices.ContainsFunc(m.deployment.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Name == tmp && v.EmptyDir != nil
	})
	if !isEmptyDir {
		t.Error("no emptyDir is mounted on /tmp; nginx and php-fpm write their pid and temp files there")
	}
	ec := loadExampleConfigs(t)
	for what, p := range map[string]string{"nginx pid": ec.nginx.PidFile, "php-fpm pid": ec.fpm.PidFile} {
		if !strings.HasPrefix(p, "/tmp/") {
			t.Errorf("%s file %q is not under /tmp: it cannot be written on a read-only root", what, p)
		}
	}
}

func TestServiceReachesNginx(t *testing.T) {
	m := loadManifests(t)
	c := container(t, m.deployment)
	labels := m.deployment.Spec.Template.Labels
	if !subset(m.service.Spec.Selector, labels) || len(m.service.Spec.Selector) == 0 {
		t.Errorf("Service %s selects %v; the pods are labelled %v", m.service.Name, m.service.Spec.Selector, labels)
	}
	if sel := m.deployment.Spec.Selector; sel == nil || !subset(sel.MatchLabels, labels) || len(sel.MatchExpressions) > 0 {
		t.Errorf("Deployment selector %v does not match its pod labels %v", sel, labels)
	}
	var nginxPorts []string
	for _, l := range loadExampleConfigs(t).nginx.Listens {
		_, port, _ := strings.Cut(l.Address, ":")
		nginxPorts = append(nginxPorts, port)
	}
	if len(m.service.Spec.Ports) == 0 {
		t.Fatalf("Service %s has no ports", m.service.Name)
	}
	for _, sp := range m.service.Spec.Ports {
		target := sp.TargetPort
		if target.IntVal == 0 && target.StrVal == "" {
			target.IntVal = sp.Port
		}
		port, err := resolvePort(c, target)
		if err != nil {
			t.Errorf("Service port %s: %v", sp.Name, err)
			continue
		}
		if !slices.Contains(nginxPorts, fmt.Sprint(port)) {
			t.Errorf("Service port %s targets %d; nginx listens on %v", sp.Name, port, nginxPorts)
		}
	}
}

func TestDockerfile(t *testing.T) {
	df, err := parseDockerfile(userDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var stageNames []string
	for _, st := range df.stages {
		if !slices.ContainsFunc(stageNames, func(n string) bool { return strings.EqualFold(n, st.image) }) {
			if err := pinned(st.image); err != nil {
				t.Errorf("%s %s: not pinned to a version: %v", df.path, st.from, err)
			}
		}
		stageNames = append(stageNames, st.name)
	}
	final := df.final()
	checkEntrypoint(t, df)
	if in, ok := final.last("user"); !ok {
		t.Errorf("%s: the final stage sets no USER: the container would run as root", df.path)
	} else if u, _, _ := strings.Cut(in.args[0], ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("%s %s: runs as root", df.path, in)
	}
	if in, ok := final.last("healthcheck"); !ok {
		t.Errorf("%s: the final stage has no HEALTHCHECK", df.path)
	} else if cmd := healthcheckCommand(in); len(cmd) < 3 || path.Base(cmd[0]) != "lnmp-init" || cmd[1] != "probe" {
		t.Errorf("%s %s: want a command of `lnmp-init probe ready|live`, got %q", df.path, in, cmd)
	}
	// The php:*-fpm images set STOPSIGNAL SIGQUIT; the Dockerfile replaces
	// it with what Kubernetes and docker stop send, as its comment says.
	if in, ok := final.last("stopsignal"); !ok || canonicalSignal(in.args[0]) != "SIGTERM" {
		t.Errorf("%s: the final stage must say STOPSIGNAL SIGTERM (got %v)", df.path, in)
	}
	checkCopies(t, df)

	// The image runs the configs this test reads, and exposes the ports the
	// Deployment names.
	rs := final.runSettings()
	for env, file := range map[string]string{"LNMP_NGINX_CONFIG": "nginx.conf", "LNMP_PHP_FPM_CONFIG": "php-fpm.conf"} {
		if want := path.Join(srvLnmp, file); rs.Env[env] != want {
			t.Errorf("%s: ENV %s=%q, want %q (examples/config/%s)", df.path, env, rs.Env[env], want, file)
		}
	}
	m := loadManifests(t)
	c := container(t, m.deployment)
	for _, p := range c.Ports {
		if want := fmt.Sprintf("%d/%s", p.ContainerPort, strings.ToLower(string(orProtocol(p.Protocol)))); !slices.Contains(rs.Expose, want) {
			t.Errorf("the Deployment's port %s (%s) is not EXPOSEd in %s: %v", p.Name, want, df.path, rs.Expose)
		}
	}
	for _, env := range []string{"LNMP_NGINX_CONFIG", "LNMP_PHP_FPM_CONFIG"} {
		if _, ok := envValue(c, env); ok {
			t.Errorf("the Deployment overrides %s; the ConfigMap mounts assume the image's configs under %s", env, srvLnmp)
		}
	}
}

// checkEntrypoint: exec form (a shell as PID 1 would swallow SIGTERM),
// lnmp-init itself, flags only; a CMD can add only flags, since lnmp-init
// takes no command.
func checkEntrypoint(t *testing.T, df *dockerfile) {
	t.Helper()
	final := df.final()
	in, ok := final.last("entrypoint")
	switch {
	case !ok:
		t.Errorf("%s: the final stage has no ENTRYPOINT; want [\"lnmp-init\"]", df.path)
	case !in.json:
		t.Errorf("%s %s: shell form makes /bin/sh PID 1, which does not pass SIGTERM on; use [\"lnmp-init\", ...]", df.path, in)
	case len(in.args) == 0 || path.Base(in.args[0]) != "lnmp-init":
		t.Errorf("%s %s: want lnmp-init as the entrypoint", df.path, in)
	default:
		for _, a := range in.args[1:] {
			if !strings.HasPrefix(a, "-") {
				t.Errorf("%s %s: %q is not a flag; lnmp-init as PID 1 takes no command", df.path, in, a)
			}
		}
	}
	if cmd, ok := final.last("cmd"); ok {
		for _, a := range cmd.args {
			if !cmd.json || !strings.HasPrefix(a, "-") {
				t.Errorf("%s %s: CMD is passed to lnmp-init as arguments; only flags are allowed", df.path, cmd)
			}
		}
	}
}

// TestTestImageMatchesDockerfile: the test image (built FROM a Debian
// base, for the integration tests) runs lnmp-init as the user-facing image
// does.
func TestTestImageMatchesDockerfile(t *testing.T) {
	if _, err := os.Stat(testDockerfile); err != nil {
		t.Fatalf("%s is missing (%v): the test image must exist and match the final stage of %s: the same ENV, USER, EXPOSE, STOPSIGNAL, HEALTHCHECK and ENTRYPOINT, and COPY examples/config /srv/lnmp and examples/app /srv/app",
			testDockerfile, err, userDockerfile)
	}
	user, err := parseDockerfile(userDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	test, err := parseDockerfile(testDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	want, got := user.final().runSettings(), test.final().runSettings()
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			t.Errorf("%s differs: %s has %v, %s has %v", strings.ToUpper(name), testDockerfile, gv.Field(i).Interface(), userDockerfile, wv.Field(i).Interface())
		}
	}
	checkEntrypoint(t, test)
	checkCopies(t, test)
}

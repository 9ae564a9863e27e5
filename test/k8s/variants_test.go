package k8s

import (
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// variant is one way of running nginx and php-fpm, with its objects.
type variant struct {
	name    string // for the table
	app     string // the Deployment, Service and app label
	objects []any
	// asserted: 0 failed requests is required (lnmp-init's variants);
	// otherwise the counts are only reported.
	asserted bool
}

func configMapObjects(t *testing.T) []any {
	cms := loadConfigMaps(t)
	return []any{cms["lnmp-example-nginx"], cms["lnmp-example-php-fpm"]}
}

// single is examples/kubernetes/deployment.yaml and service.yaml.
func single(t *testing.T) variant {
	d := loadDeployment(t, "deployment.yaml")
	patchForMachine(d, exampleImage)
	s := loadService(t, "service.yaml")
	return variant{"lnmp-init", d.Name, append(configMapObjects(t), d, s), true}
}

func twoContainers(t *testing.T) variant {
	d := loadDeployment(t, "two-containers/deployment.yaml")
	patchForMachine(d, exampleImage)
	s := loadService(t, "two-containers/service.yaml")
	return variant{"lnmp-init two containers (peer lock)", d.Name, append(configMapObjects(t), d, s), true}
}

func nativeSidecar(t *testing.T) variant {
	d := loadDeployment(t, "native-sidecar/deployment.yaml")
	patchForMachine(d, exampleImage)
	s := loadService(t, "native-sidecar/service.yaml")
	return variant{"lnmp-init native sidecar", d.Name, append(configMapObjects(t), d, s), true}
}

// httpReady is the readiness probe of the variants without lnmp-init: the
// app's page through nginx and php-fpm, with the shipped probe's timings.
func httpReady(from *corev1.Probe) *corev1.Probe {
	p := from.DeepCopy()
	p.HTTPGet = &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}
	return p
}

// supervisord is deployment.yaml with supervisord as PID 1
// (test/image/supervisord.conf: stopsignal=QUIT, php-fpm before nginx) in
// place of lnmp-init. Its probes cannot be lnmp-init's: readiness asks the
// app's page, no liveness probe.
func supervisord(t *testing.T) variant {
	conf, err := os.ReadFile("../image/supervisord.conf")
	if err != nil {
		t.Fatal(err)
	}
	d := loadDeployment(t, "deployment.yaml")
	s := loadService(t, "service.yaml")
	rename(d, s, "lnmp-supervisord")
	patchForMachine(d, exampleImage)
	ps := &d.Spec.Template.Spec
	c := &ps.Containers[0]
	c.Command = []string{"supervisord", "-c", "/etc/lnmp-supervisord/supervisord.conf"}
	c.ReadinessProbe = httpReady(c.ReadinessProbe)
	c.LivenessProbe = nil
	c.Ports = c.Ports[:1]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "supervisord", MountPath: "/etc/lnmp-supervisord", ReadOnly: true})
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "lnmp-supervisord"},
		Data:       map[string]string{"supervisord.conf": string(conf)},
	}
	ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "supervisord", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}})
	return variant{"supervisord", d.Name, append(configMapObjects(t), cm, d, s), false}
}

// recipe is the write-up's two-container pod, no lnmp-init: nginx with
// STOPSIGNAL SIGQUIT and a preStop sleep of 5 s, php-fpm in its own
// container with STOPSIGNAL SIGQUIT, the same configs, grace period and
// readiness timings as deployment.yaml.
func recipe(t *testing.T) variant {
	d := loadDeployment(t, "deployment.yaml")
	s := loadService(t, "service.yaml")
	rename(d, s, "lnmp-recipe")
	patchForMachine(d, recipeImage)
	ps := &d.Spec.Template.Spec
	app := ps.Containers[0]
	nginx := app.DeepCopy()
	nginx.Name = "nginx"
	nginx.Command = []string{"nginx", "-c", "/srv/lnmp/nginx.conf", "-g", "daemon off;"}
	nginx.Env = nil
	nginx.Ports = app.Ports[:1]
	nginx.ReadinessProbe = httpReady(app.ReadinessProbe)
	nginx.LivenessProbe = nil
	nginx.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}}
	nginx.VolumeMounts = nil
	fpm := app.DeepCopy()
	fpm.Name = "php-fpm"
	fpm.Command = []string{"php-fpm8.2", "-F", "-y", "/srv/lnmp/php-fpm.conf"}
	fpm.Env = nil
	fpm.Ports = nil
	fpm.ReadinessProbe, fpm.LivenessProbe = nil, nil
	fpm.VolumeMounts = nil
	for _, m := range app.VolumeMounts {
		switch m.Name {
		case "nginx-conf-d":
			nginx.VolumeMounts = append(nginx.VolumeMounts, m)
		case "php-fpm-pool-d":
			fpm.VolumeMounts = append(fpm.VolumeMounts, m)
		case "tmp":
			nginx.VolumeMounts = append(nginx.VolumeMounts, m)
			fm := m
			fm.Name = "fpm-tmp"
			fpm.VolumeMounts = append(fpm.VolumeMounts, fm)
		}
	}
	ps.Containers = []corev1.Container{*nginx, *fpm}
	for _, v := range ps.Volumes {
		if v.Name == "tmp" {
			fv := *v.DeepCopy()
			fv.Name = "fpm-tmp"
			ps.Volumes = append(ps.Volumes, fv)
			break
		}
	}
	return variant{"recipe: 2 containers, preStop sleep 5 + SIGQUIT", d.Name, append(configMapObjects(t), d, s), false}
}

// deploy applies v and waits for its replicas; it returns the ClusterIP URL.
func deploy(t *testing.T, v variant) string {
	t.Helper()
	apply(t, v.objects...)
	t.Cleanup(func() { deleteApp(t, v.app, "deployment/"+v.app, "service/"+v.app) })
	if _, err := kubectl(nil, "rollout", "status", "deployment/"+v.app, "--timeout=4m"); err != nil {
		waitPods(t, v.app, replicas, time.Second) // logs why
	}
	waitPods(t, v.app, replicas, 2*time.Minute)
	waitEndpoints(t, v.app, replicas, time.Minute)
	url := "http://" + clusterIP(t, v.app)
	// kube-proxy programs the new Service a moment after it exists; until
	// then the route sends the ClusterIP to the bridge, where nothing
	// answers (EHOSTUNREACH).
	ok := 0
	for end := time.Now().Add(time.Minute); ok < 10; time.Sleep(100 * time.Millisecond) {
		if get(client, url+"/", "Hello from lnmp-init") == nil {
			ok++
		} else if ok = 0; time.Now().After(end) {
			t.Fatalf("%s: the ClusterIP does not answer: %v", v.app, get(client, url+"/", "Hello from lnmp-init"))
		}
	}
	return url
}

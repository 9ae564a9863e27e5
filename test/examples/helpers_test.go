package examples_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/sys/unix"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
)

// Paths relative to this package's directory, where go test runs.
const (
	kubeDir        = "../../examples/kubernetes"
	configDir      = "../../examples/config"
	userDockerfile = "../../Dockerfile"
	testDockerfile = "../image/Dockerfile"
)

// srvLnmp is where the image (and make demo) put examples/config; the
// example configs name it in their include lines.
const srvLnmp = "/srv/lnmp"

// --- Kubernetes manifests ---------------------------------------------------

// manifests is everything in examples/kubernetes, decoded.
type manifests struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
	configMaps map[string]*corev1.ConfigMap // by name
}

// strictDecoder decodes YAML into the registered apps/v1 and core/v1 types
// the way the API server's strict field validation does: an unknown field,
// a field spelled with the wrong case, or a duplicate key is an error.
// encoding/json alone (sigs.k8s.io/yaml.UnmarshalStrict) would accept
// "TerminationGracePeriodSeconds", which the API server drops or refuses.
var strictDecoder = sync.OnceValue(func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
})

// decodeYAML decodes every document of a multi-document YAML stream.
// Documents holding only comments are skipped.
func decodeYAML(r io.Reader) ([]runtime.Object, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []runtime.Object
	for i := 1; ; i++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if js, err := yaml.YAMLToJSON(doc); err == nil && string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		obj, _, err := strictDecoder().Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, obj)
	}
}

// loadManifests decodes examples/kubernetes/*.yaml and expects one
// Deployment, one Service and ConfigMaps, nothing else.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s (%v)", kubeDir, err)
	}
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}}
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
				if m.deployment != nil {
					t.Fatalf("%s: a second Deployment, %s; the example has one", p, o.Name)
				}
				m.deployment = o
			case *corev1.Service:
				if m.service != nil {
					t.Fatalf("%s: a second Service, %s; the example has one", p, o.Name)
				}
				m.service = o
			case *corev1.ConfigMap:
				if m.configMaps[o.Name] != nil {
					t.Fatalf("%s: ConfigMap %s defined twice", p, o.Name)
				}
				m.configMaps[o.Name] = o
			default:
				t.Fatalf("%s: unexpected %T; the test knows Deployment, Service and ConfigMap", p, o)
			}
		}
	}
	if m.deployment == nil || m.service == nil || len(m.configMaps) == 0 {
		t.Fatalf("%s: want a Deployment, a Service and ConfigMaps; got deployment=%v service=%v configmaps=%d",
			kubeDir, m.deployment != nil, m.service != nil, len(m.configMaps))
	}
	return m
}

// container is the Deployment's one container: nginx, php-fpm and
// lnmp-init share it.
func container(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("Deployment %s has %d containers; the example runs nginx and php-fpm in one, under lnmp-init", d.Name, len(cs))
	}
	return &cs[0]
}

// resolvePort turns a probe's or Service's port (number or name) into the
// container port number.
func resolvePort(c *corev1.Container, p intstr.IntOrString) (int32, error) {
	if p.Type == intstr.Int {
		return p.IntVal, nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, p.StrVal)
}

// envValue returns a literal env value of the container.
func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// envDuration is a duration setting given explicitly in the container's
// env, parsed as lnmp-init parses it.
func envDuration(t *testing.T, c *corev1.Container, name string) time.Duration {
	t.Helper()
	v, ok := envValue(c, name)
	if !ok {
		t.Fatalf("container %s does not set %s; set it explicitly: the grace period depends on it", c.Name, name)
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("container %s: %s=%q: %v", c.Name, name, v, err)
	}
	return d
}

// --- the example configs ------------------------------------------------------

// exampleConfigs is examples/config as lnmp-init reads it, from a copy in
// which /srv/lnmp is replaced by the copy's directory.
type exampleConfigs struct {
	root  string // stands for /srv/lnmp
	fpm   *phpfpm.Config
	nginx *nginx.Config
}

// nginxInclude matches an include of a file the nginx package provides.
var nginxInclude = regexp.MustCompile(`include\s+(/etc/nginx/[^\s;*?\[]+)\s*;`)

// loadExampleConfigs copies examples/config into a temporary directory,
// points its /srv/lnmp paths there, and reads it with lnmp-init's own
// loaders. Includes of /etc/nginx/ files (mime.types, fastcgi_params, from
// the nginx package) point to empty stand-ins, so no nginx install is needed.
func loadExampleConfigs(t *testing.T) *exampleConfigs {
	t.Helper()
	root, stubs := t.TempDir(), t.TempDir()
	if err := os.CopyFS(root, os.DirFS(configDir)); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range nginxInclude.FindAllSubmatch(src, -1) {
			stub := filepath.Join(stubs, string(m[1]))
			if err := os.MkdirAll(filepath.Dir(stub), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(stub, nil, 0o644); err != nil {
				return err
			}
		}
		src = bytes.ReplaceAll(src, []byte(srvLnmp), []byte(root))
		src = bytes.ReplaceAll(src, []byte("include /etc/nginx/"), []byte("include "+stubs+"/etc/nginx/"))
		return os.WriteFile(p, src, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	fpm, err := phpfpm.Load(filepath.Join(root, "php-fpm.conf"), "")
	if err != nil {
		t.Fatalf("phpfpm.Load of examples/config/php-fpm.conf: %v", err)
	}
	ngx, err := nginx.Load(filepath.Join(root, "nginx.conf"))
	if err != nil {
		t.Fatalf("nginx.Load of examples/config/nginx.conf: %v", err)
	}
	return &exampleConfigs{root: root, fpm: fpm, nginx: ngx}
}

// includeDirs maps each directory under /srv/lnmp that the configs include
// files from (their include globs) to the glob's file pattern, e.g.
// "/srv/lnmp/conf.d" -> "*.conf".
func (ec *exampleConfigs) includeDirs() map[string]string {
	out := map[string]string{}
	for _, inc := range slices.Concat(ec.nginx.Includes, ec.fpm.Includes) {
		rel, err := filepath.Rel(ec.root, inc)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		out[path.Join(srvLnmp, filepath.ToSlash(filepath.Dir(rel)))] = filepath.Base(inc)
	}
	return out
}

// --- Dockerfiles --------------------------------------------------------------

// instruction is one Dockerfile instruction from BuildKit's parser.
type instruction struct {
	cmd   string   // lower-case: "from", "env", "healthcheck"...
	flags []string // --from=build, --interval=10s...
	args  []string
	json  bool // exec form: ["a", "b"]
	line  int
}

func (in instruction) String() string {
	return fmt.Sprintf("line %d: %s %q", in.line, strings.Join(append([]string{strings.ToUpper(in.cmd)}, in.flags...), " "), in.args)
}

// stage is one FROM and what follows it.
type stage struct {
	from  instruction
	image string // the FROM reference, ARGs expanded
	name  string // after AS; "" when none
	cmds  []instruction
}

type dockerfile struct {
	path   string
	stages []stage
}

func (df *dockerfile) final() *stage { return &df.stages[len(df.stages)-1] }

// parseDockerfile reads path with BuildKit's own parser.
func parseDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	df := &dockerfile{path: path}
	globalArgs := map[string]string{}
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"], line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		switch {
		case in.cmd == "from":
			if len(in.args) == 0 {
				return nil, fmt.Errorf("%s: %s: FROM without an image", path, in)
			}
			st := stage{from: in, image: os.Expand(in.args[0], func(k string) string { return globalArgs[k] })}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				st.name = in.args[2]
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0:
			if in.cmd == "arg" {
				for _, a := range in.args {
					k, v, _ := strings.Cut(a, "=")
					globalArgs[k] = v
				}
			}
		default:
			st := &df.stages[len(df.stages)-1]
			st.cmds = append(st.cmds, in)
		}
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

// all returns the stage's instructions of one kind, in order.
func (st *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range st.cmds {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last returns the stage's last instruction of one kind: the one in effect.
func (st *stage) last(cmd string) (instruction, bool) {
	all := st.all(cmd)
	if len(all) == 0 {
		return instruction{}, false
	}
	return all[len(all)-1], true
}

// pinned says why an image reference is not pinned to a version, or nil.
// A digest pins; a tag must name a version (hold a digit) and not be
// "latest"; no tag means latest.
func pinned(ref string) error {
	if ref == "scratch" {
		return nil
	}
	if strings.Contains(ref, "$") {
		return fmt.Errorf("%q uses a variable without a default", ref)
	}
	name, digest, _ := strings.Cut(ref, "@")
	if digest != "" {
		return nil
	}
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		tag = name[i+1:]
	}
	switch {
	case tag == "":
		return fmt.Errorf("%q has no tag, which means latest", ref)
	case tag == "latest":
		return fmt.Errorf("%q is latest", ref)
	case !strings.ContainsAny(tag, "0123456789"):
		return fmt.Errorf("%q: tag %q names no version", ref, tag)
	}
	return nil
}

// runSettings is what a final stage sets for the container it makes: what
// test/image/Dockerfile must share with the user-facing Dockerfile.
type runSettings struct {
	Env         map[string]string // every ENV of the stage, later ones winning
	User        string
	Expose      []string // sorted, with the protocol: "8080/tcp"
	StopSignal  string   // canonical: "SIGTERM"
	Healthcheck string
	Entrypoint  string
}

func (st *stage) runSettings() runSettings {
	rs := runSettings{Env: map[string]string{}}
	for _, in := range st.all("env") {
		// The parser gives key, value, separator triples.
		for i := 0; i+1 < len(in.args); i += 3 {
			rs.Env[in.args[i]] = in.args[i+1]
		}
	}
	if in, ok := st.last("user"); ok && len(in.args) > 0 {
		rs.User = in.args[0]
	}
	for _, in := range st.all("expose") {
		for _, p := range in.args {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			rs.Expose = append(rs.Expose, strings.ToLower(p))
		}
	}
	slices.Sort(rs.Expose)
	rs.Expose = slices.Compact(rs.Expose)
	if in, ok := st.last("stopsignal"); ok && len(in.args) > 0 {
		rs.StopSignal = canonicalSignal(in.args[0])
	}
	if in, ok := st.last("healthcheck"); ok {
		flags := slices.Clone(in.flags)
		slices.Sort(flags)
		rs.Healthcheck = fmt.Sprintf("%s %q exec-form=%v", strings.Join(flags, " "), in.args, in.json)
	}
	if in, ok := st.last("entrypoint"); ok {
		rs.Entrypoint = fmt.Sprintf("%q exec-form=%v", in.args, in.json)
	}
	return rs
}

// canonicalSignal spells a STOPSIGNAL value as "SIGTERM", whether it was
// written SIGTERM, TERM or 15.
func canonicalSignal(s string) string {
	if n, err := strconv.Atoi(s); err == nil {
		return unix.SignalName(syscall.Signal(n))
	}
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	return s
}

// healthcheckCommand is the HEALTHCHECK's command as argv; nil for
// HEALTHCHECK NONE.
func healthcheckCommand(in instruction) []string {
	if len(in.args) < 2 || !strings.EqualFold(in.args[0], "CMD") {
		return nil
	}
	if in.json {
		return in.args[1:]
	}
	return strings.Fields(in.args[1])
}

// checkCopies fails t unless the final stage copies examples/config to
// /srv/lnmp and examples/app to /srv/app from the build context.
func checkCopies(t *testing.T, df *dockerfile) {
	t.Helper()
	want := map[string]string{"examples/config": srvLnmp, "examples/app": "/srv/app"}
	got := map[string]string{}
	for _, in := range df.final().all("copy") {
		fromContext := !slices.ContainsFunc(in.flags, func(f string) bool { return strings.HasPrefix(f, "--from") })
		if !fromContext || len(in.args) != 2 {
			continue
		}
		got[path.Clean(strings.TrimPrefix(in.args[0], "./"))] = path.Clean(in.args[1])
	}
	for src, dst := range want {
		if got[src] != dst {
			t.Errorf("%s: the final stage must COPY %s %s (the ConfigMaps mount over it and make demo serves the same files); found %q",
				df.path, src, dst, got[src])
		}
	}
}

// --- small helpers --------------------------------------------------------------

// orDefault is v, or def when the field is unset (0; the API server then
// sets def).
func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}

// firstSet is the first non-nil pointer: a container's securityContext
// field wins over the pod's.
func firstSet[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// subset reports whether every key of sel has the same value in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func orProtocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  ConfigMap: %q\n  file:      %q", i+1, gl, wl)
		}
	}
	return "(same lines)"
}

package phpfpm

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
)

// layout is a configuration tree and what Load must make of it. In files,
// ROOT stands for the fixture's directory.
type layout struct {
	name    string
	files   map[string]string
	main    string // Relative to ROOT.
	prefix  string // Relative to ROOT.
	env     map[string]string
	want    func(root string) *Config
	wantErr []string // Substrings of the error; ROOT is replaced.

	// stricter says why php-fpm -t accepts a layout Load rejects.
	stricter string
}

// layouts returns every fixture of TestLoad and TestLoadAgreesWithPHPFPM.
func layouts() []layout {
	return append(basicLayouts(), includeLayouts()...)
}

func basicLayouts() []layout {
	return []layout{
		{
			name: "debian",
			files: map[string]string{
				"etc/php/8.2/fpm/php-fpm.conf": "[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = ROOT/var/log/php8.2-fpm.log\n" +
					";include=/etc/php/8.2/fpm/*.conf\ninclude=ROOT/etc/php/8.2/fpm/pool.d/*.conf\n",
				"etc/php/8.2/fpm/pool.d/www.conf": "[www]\n" + poolBoilerplate + "listen = /run/php/php8.2-fpm.sock\n" +
					"listen.owner = www-data\n;ping.path = /ping\n",
				"etc/php/8.2/fpm/pool.d/README": "not a .conf file, never read\n",
				"var/log/.keep":                 "",
			},
			main: "etc/php/8.2/fpm/php-fpm.conf", prefix: "usr",
			want: func(root string) *Config {
				return &Config{
					Files:    []string{root + "/etc/php/8.2/fpm/php-fpm.conf", root + "/etc/php/8.2/fpm/pool.d/www.conf"},
					Includes: []string{root + "/etc/php/8.2/fpm/pool.d/*.conf"},
					PidFile:  "/run/php/php8.2-fpm.pid", ErrorLog: root + "/var/log/php8.2-fpm.log",
					Pools: []Pool{{Name: "www", ListenRaw: "/run/php/php8.2-fpm.sock",
						Listen: listen.Addr{Network: "unix", Address: "/run/php/php8.2-fpm.sock"}}},
				}
			},
		},
		{
			// The official image: a relative include, [global] and the www
			// pool spread over three files, a later listen winning.
			name: "official image",
			files: map[string]string{
				"usr/local/etc/php-fpm.conf": "[global]\ninclude=etc/php-fpm.d/*.conf\n",
				"usr/local/etc/php-fpm.d/docker.conf": "[global]\nerror_log = /proc/self/fd/2\n\n[www]\n" +
					"access.log = /proc/self/fd/2\nclear_env = no\ncatch_workers_output = yes\n",
				"usr/local/etc/php-fpm.d/www.conf":       "[www]\n" + poolBoilerplate + "listen = 127.0.0.1:9000\n",
				"usr/local/etc/php-fpm.d/zz-docker.conf": "[global]\ndaemonize = no\nprocess_control_timeout = 20s\n\n[www]\nlisten = 9000\n",
			},
			main: "usr/local/etc/php-fpm.conf", prefix: "usr/local",
			want: func(root string) *Config {
				d := root + "/usr/local/etc/php-fpm.d/"
				return &Config{
					Files:    []string{root + "/usr/local/etc/php-fpm.conf", d + "docker.conf", d + "www.conf", d + "zz-docker.conf"},
					Includes: []string{d + "*.conf"}, ErrorLog: "/proc/self/fd/2",
					ProcessControlTimeout: 20 * time.Second,
					Pools: []Pool{{Name: "www", ListenRaw: "9000",
						Listen: listen.Addr{Network: "tcp", Address: "127.0.0.1:9000"}, AccessLog: "/proc/self/fd/2"}},
				}
			},
		},
		{
			name: "alpine",
			files: map[string]string{
				"etc/php83/php-fpm.conf":         "[global]\nerror_log = /dev/null\ninclude=ROOT/etc/php83/php-fpm.d/*.conf\n",
				"etc/php83/php-fpm.d/www.conf":   "[www]\n" + poolBoilerplate + "listen = 127.0.0.1:9000\nping.path = /ping\n",
				"etc/php83/php-fpm.d/other.conf": "[other]\n" + poolBoilerplate + "listen = [::]:9001\nping.path = /fpm-ping\nping.response = ok\n",
			},
			main: "etc/php83/php-fpm.conf", prefix: "usr",
			want: func(root string) *Config {
				d := root + "/etc/php83/php-fpm.d/"
				return &Config{
					Files:    []string{root + "/etc/php83/php-fpm.conf", d + "other.conf", d + "www.conf"},
					Includes: []string{d + "*.conf"}, ErrorLog: "/dev/null",
					Pools: []Pool{
						{Name: "other", ListenRaw: "[::]:9001", Listen: listen.Addr{Network: "tcp", Address: "[::1]:9001"},
							PingPath: "/fpm-ping", PingResponse: "ok"},
						{Name: "www", ListenRaw: "127.0.0.1:9000", Listen: listen.Addr{Network: "tcp", Address: "127.0.0.1:9000"},
							PingPath: "/ping", PingResponse: "pong"},
					},
				}
			},
		},
		{
			// Two pools, one on a unix socket and one on TCP; the second
			// opened twice, in two letter cases.
			name: "pool names, env and time units",
			files: map[string]string{
				"php-fpm.conf": "process_control_timeout = ${GRACE}m\nerror_log = log/fpm.log\npid = run/fpm.pid\n" +
					"[api]\n" + poolBoilerplate + "listen = /run/$pool.sock\nenv[POOL] = $pool\nenv[X] = first\nenv[X] = second\n" +
					"request_terminate_timeout = 1.5m\npm.status_path = /status-$pool\n" +
					"[WEB]\n" + poolBoilerplate + "listen = sockets/$pool.sock\nenv[HOME_DIR] = \"${HOME}/x\"\nrequest_terminate_timeout = 1d\n" +
					"[web]\nlisten = ${WEB_PORT}\nrequest_terminate_timeout = 30\n",
				"usr/log/.keep": "", // For php-fpm -p, which puts error_log there.
			},
			main: "php-fpm.conf", prefix: "usr",
			env: map[string]string{"GRACE": "2", "WEB_PORT": "9100", "HOME": "/home/x"},
			want: func(root string) *Config {
				return &Config{
					Files:                 []string{root + "/php-fpm.conf"},
					ProcessControlTimeout: 2 * time.Minute,
					ErrorLog:              root + "/usr/var/log/fpm.log", PidFile: root + "/usr/var/run/fpm.pid",
					Pools: []Pool{
						{Name: "api", ListenRaw: "/run/api.sock", Listen: listen.Addr{Network: "unix", Address: "/run/api.sock"},
							StatusPath: "/status-api", RequestTerminateTimeout: time.Minute,
							Env: map[string]string{"POOL": "api", "X": "first"}},
						{Name: "WEB", ListenRaw: "9100", Listen: listen.Addr{Network: "tcp", Address: "127.0.0.1:9100"},
							RequestTerminateTimeout: 30 * time.Second, Env: map[string]string{"HOME_DIR": "/home/x/x"}},
					},
				}
			},
		},
		{
			name: "missing listen",
			files: map[string]string{
				"php-fpm.conf":     "[global]\nerror_log = /dev/null\ninclude = ROOT/pools/*.conf\n",
				"pools/a.conf":     "[a]\n" + poolBoilerplate + "listen = 9000\n",
				"pools/nolisten.c": "",
				"pools/b.conf":     "\n[b]\n" + poolBoilerplate,
			},
			main: "php-fpm.conf", wantErr: []string{"ROOT/pools/b.conf:2", "pool [b] has no listen address"},
		},
		{
			name:  "no pool",
			files: map[string]string{"php-fpm.conf": "[global]\nerror_log = /dev/null\n"},
			main:  "php-fpm.conf", wantErr: []string{"php-fpm.conf", "no pool section"},
		},
		{
			name:  "hash comment",
			files: map[string]string{"php-fpm.conf": "[global]\n# a comment\n[www]\n" + poolBoilerplate + "listen = 9000\n"},
			main:  "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:2", "'#' does not start a comment"},
		},
		{
			name:  "bad time",
			files: map[string]string{"php-fpm.conf": "process_control_timeout = 10x\n[www]\n" + poolBoilerplate + "listen = 9000\n"},
			main:  "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:1", "process_control_timeout", "unknown suffix"},
		},
		{
			name:  "$pool in global",
			files: map[string]string{"php-fpm.conf": "pid = /run/$pool.pid\n[www]\n" + poolBoilerplate + "listen = 9000\n"},
			main:  "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:1", "outside a pool"},
		},
		{
			name:  "same address twice",
			files: map[string]string{"php-fpm.conf": "error_log = /dev/null\n[a]\n" + poolBoilerplate + "listen = 9000\n[b]\n" + poolBoilerplate + "listen = 0.0.0.0:9000\n"},
			main:  "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:11", "pools [a] and [b] both listen on 127.0.0.1:9000"},
			stricter: "php-fpm compares the strings; the second bind then fails with EADDRINUSE",
		},
		{
			name:  "bad ping path",
			files: map[string]string{"php-fpm.conf": "error_log = /dev/null\n[a]\n" + poolBoilerplate + "listen = 9000\n\nping.path = ping\n"},
			main:  "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:8", "ping.path"},
		},
		{
			name:  "empty env",
			files: map[string]string{"php-fpm.conf": "[a]\n" + poolBoilerplate + "listen = 9000\nenv[X] = ${UNSET}\n"},
			main:  "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:6", "env[X]: empty value"},
		},
	}
}

func TestLoad(t *testing.T) {
	for _, tt := range layouts() {
		t.Run(tt.name, func(t *testing.T) {
			root, main, prefix := tt.write(t)
			got, err := load(main, prefix, fakeEnv(tt.env))
			if tt.wantErr != nil {
				checkError(t, err, root, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := tt.want(root)
			want.Path = main
			if diff := diffConfig(got, want); diff != "" {
				t.Errorf("Load(%s):\n%s", tt.main, diff)
			}
		})
	}
}

// write creates the layout's files in a new directory and returns it with
// the main file's and the prefix's paths.
func (tt layout) write(t *testing.T) (root, main, prefix string) {
	t.Helper()
	root = t.TempDir()
	files := make(map[string]string)
	for name, content := range tt.files {
		files[name] = strings.ReplaceAll(content, "ROOT", root)
	}
	writeTree(t, root, files)
	prefix = filepath.Join(root, tt.prefix)
	if err := os.MkdirAll(prefix, 0o755); err != nil { // php-fpm -p wants it.
		t.Fatal(err)
	}
	return root, filepath.Join(root, tt.main), prefix
}

// checkError checks that err holds every one of wants, with ROOT standing
// for root.
func checkError(t *testing.T, err error, root string, wants []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Load succeeded; want an error containing %q", wants)
	}
	for _, w := range wants {
		if w = strings.ReplaceAll(w, "ROOT", root); !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// diffConfig describes how got differs from want, or returns "".
func diffConfig(got, want *Config) string {
	var diffs []string
	add := func(what string, g, w any) {
		if gs, ws := fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w); gs != ws {
			diffs = append(diffs, fmt.Sprintf("%s:\n  got  %s\n  want %s", what, gs, ws))
		}
	}
	add("Path", got.Path, want.Path)
	add("Files", got.Files, want.Files)
	add("Includes", got.Includes, want.Includes)
	add("ProcessControlTimeout", got.ProcessControlTimeout, want.ProcessControlTimeout)
	add("PidFile", got.PidFile, want.PidFile)
	add("ErrorLog", got.ErrorLog, want.ErrorLog)
	pools := slices.Clone(got.Pools)
	for i := range want.Pools {
		if want.Pools[i].Env == nil {
			want.Pools[i].Env = map[string]string{}
		}
		// Most fixtures leave out the pool's size and where it is defined:
		// TestLoadReadsPoolSize and the php-fpm cross-check test those.
		if w := want.Pools[i]; i < len(pools) && w.PM == "" && w.MaxChildren == 0 && w.Where == "" {
			pools[i].PM, pools[i].MaxChildren, pools[i].Where = "", 0, ""
		}
	}
	add("Pools", pools, want.Pools)
	return strings.Join(diffs, "\n")
}

// TestLoadReadsPoolSize: pm and pm.max_children as php-fpm reads them, a
// later line winning, and where each pool's section starts.
func TestLoadReadsPoolSize(t *testing.T) {
	root := writeTree(t, t.TempDir(), map[string]string{
		"php-fpm.conf": "[global]\ninclude = ROOT/pool.d/*.conf\n",
		"pool.d/a.conf": "; pool a\n[a]\nuser = nobody\nlisten = 9001\npm = Dynamic\npm.max_children = 8\n" +
			"pm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 3\npm.max_children = 16\n",
		"pool.d/b.conf": "[b]\nuser = nobody\nlisten = 9002\npm = ondemand\npm.max_children = 4\n",
	})
	fixRoot(t, root, "php-fpm.conf")
	cfg, err := load(filepath.Join(root, "php-fpm.conf"), "", fakeEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pm    string
		max   int
		where string
	}{{"dynamic", 16, root + "/pool.d/a.conf:2"}, {"ondemand", 4, root + "/pool.d/b.conf:1"}}
	for i, w := range want {
		p := cfg.Pools[i]
		if p.PM != w.pm || p.MaxChildren != w.max || p.Where != w.where {
			t.Errorf("pool %s: pm %q, max_children %d, at %s; want %q, %d, %s", p.Name, p.PM, p.MaxChildren, p.Where, w.pm, w.max, w.where)
		}
	}
	// Values php-fpm refuses are left for it to refuse, in its own words.
	dir := writeTree(t, t.TempDir(), map[string]string{"php-fpm.conf": "[a]\nlisten = 9001\npm = lazy\npm.max_children = 1e3\n"})
	cfg, err = load(filepath.Join(dir, "php-fpm.conf"), "", fakeEnv(nil))
	if err != nil || cfg.Pools[0].PM != "" || cfg.Pools[0].MaxChildren != 0 {
		t.Errorf("invalid pm and pm.max_children: %v, %+v", err, cfg.Pools)
	}
}

// fixRoot replaces ROOT in a file written by writeTree.
func fixRoot(t *testing.T, root, name string) {
	t.Helper()
	p := filepath.Join(root, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "ROOT", root)), 0o644); err != nil {
		t.Fatal(err)
	}
}

package phpfpm

import (
	"os"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/testenv"

	"github.com/lnmp-init/lnmp-init/listen"
)

// quietGlobal keeps php-fpm -t from failing on its default error_log,
// whose directory fixtures lack. Before any section, it is global.
const quietGlobal = "error_log = /dev/null\n"

// onePool is a minimal valid pool section.
const onePool = "[www]\n" + poolBoilerplate + "listen = 9000\n"

// tcp9000 is onePool as Load reports it.
func tcp9000() Pool {
	return Pool{Name: "www", ListenRaw: "9000", Listen: listen.Addr{Network: "tcp", Address: "127.0.0.1:9000"}}
}

func includeLayouts() []layout {
	return []layout{
		{
			name: "include matching nothing",
			files: map[string]string{
				"php-fpm.conf": quietGlobal + "include = ROOT/empty/*.conf\ninclude = ROOT/nodir/literal.conf\n" + onePool,
				"empty/.keep":  "",
			},
			main: "php-fpm.conf",
			want: func(root string) *Config {
				return &Config{Files: []string{root + "/php-fpm.conf"}, ErrorLog: "/dev/null",
					Includes: []string{root + "/empty/*.conf", root + "/nodir/literal.conf"}, Pools: []Pool{tcp9000()}}
			},
		},
		{
			// Lines after an include in a pool section, and the included
			// file's own header-less lines, belong to the current section.
			name: "include inside a pool",
			files: map[string]string{
				"php-fpm.conf":     quietGlobal + "[www]\n" + poolBoilerplate + "include = ROOT/more/*.conf\nping.path = /ping\n",
				"more/listen.conf": "listen = 9000\n",
			},
			main: "php-fpm.conf",
			want: func(root string) *Config {
				p := tcp9000()
				p.PingPath, p.PingResponse = "/ping", "pong"
				return &Config{Files: []string{root + "/php-fpm.conf", root + "/more/listen.conf"}, ErrorLog: "/dev/null",
					Includes: []string{root + "/more/*.conf"}, Pools: []Pool{p}}
			},
		},
		{
			name: "pool prefix",
			files: map[string]string{
				"php-fpm.conf": quietGlobal + "[a]\n" + poolBoilerplate + "prefix = srv/$pool\nlisten = php.sock\n" +
					"[b]\n" + poolBoilerplate + "prefix = ROOT/srv/b\nlisten = php.sock\n",
				"usr/srv/a/.keep": "",
				"srv/b/.keep":     "",
			},
			main: "php-fpm.conf", prefix: "usr",
			want: func(root string) *Config {
				return &Config{Files: []string{root + "/php-fpm.conf"}, ErrorLog: "/dev/null", Pools: []Pool{
					{Name: "a", ListenRaw: "php.sock", Listen: listen.Addr{Network: "unix", Address: root + "/usr/srv/a/php.sock"}},
					{Name: "b", ListenRaw: "php.sock", Listen: listen.Addr{Network: "unix", Address: root + "/srv/b/php.sock"}},
				}}
			},
		},
		{
			name: "include of a missing directory",
			files: map[string]string{
				"php-fpm.conf": quietGlobal + "include = ROOT/nodir/*.conf\n" + onePool,
			},
			main: "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:2", "ROOT/nodir", "Unable to globalize"},
		},
		{
			name: "relative include without a prefix",
			files: map[string]string{
				"php-fpm.conf": quietGlobal + "include = etc/*.conf\n" + onePool,
			},
			main: "php-fpm.conf", prefix: "", wantErr: []string{"ROOT/php-fpm.conf:2", "relative"},
			stricter: "php-fpm always has its compiled-in prefix; Load is told none",
		},
		{
			name: "malformed include pattern",
			files: map[string]string{
				"php-fpm.conf": quietGlobal + "include = ROOT/conf.d/inc[.conf\n" + onePool,
				"conf.d/.keep": "",
			},
			main: "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:2", "syntax error in pattern"},
			stricter: "glibc takes the malformed pattern literally, and it matches nothing",
		},
		{
			name: "unreadable include",
			files: map[string]string{
				"php-fpm.conf":  quietGlobal + "include = ROOT/pools/*.conf\n" + onePool,
				"pools/ok.conf": "[ok]\n" + poolBoilerplate + "listen = 9001\n",
				"pools/x.conf":  "->" + "missing-target.conf",
			},
			main: "php-fpm.conf", wantErr: []string{"ROOT/php-fpm.conf:2", "ROOT/pools/x.conf", "no such file"},
		},
		{
			name: "bad line in an included file",
			files: map[string]string{
				"php-fpm.conf":  quietGlobal + onePool + "include = ROOT/pools/*.conf\n",
				"pools/a.conf":  "[a]\n" + poolBoilerplate + "listen = 9001\n",
				"pools/b.conf":  "[b]\n" + poolBoilerplate + "\nlisten = 9002 = x\n",
				"pools/c.conf.": "never read",
			},
			main: "php-fpm.conf", wantErr: []string{"ROOT/pools/b.conf:6", "syntax error"},
		},
		{
			name: "include loop",
			files: map[string]string{
				"php-fpm.conf": quietGlobal + onePool + "include = ROOT/php-fpm.conf\n",
			},
			main: "php-fpm.conf", wantErr: []string{"nested more than 5 files deep"},
		},
	}
}

// TestLoadRealDebian reads the configuration Debian's php8.2-fpm package
// installs, where it is installed.
func TestLoadRealDebian(t *testing.T) {
	const main = "/etc/php/8.2/fpm/php-fpm.conf"
	if _, err := os.Stat(main); err != nil {
		testenv.SkipOrFail(t, "needs Debian's php8.2-fpm package (%s)", main)
	}
	cfg, err := Load(main, "/usr")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, p := range cfg.Pools {
		if p.Name == "www" {
			if want := "unix:/run/php/php8.2-fpm.sock"; p.Listen.String() != want {
				t.Errorf("pool www listens on %s, want %s", p.Listen, want)
			}
			return
		}
	}
	t.Errorf("no pool www in %+v", cfg.Pools)
}

// TestLoadEnvironment checks that Load itself reads the process environment.
func TestLoadEnvironment(t *testing.T) {
	t.Setenv("LNMP_TEST_PORT", "9123")
	t.Setenv("LNMP_TEST_HOST", "worker-7")
	root := writeTree(t, t.TempDir(), map[string]string{
		"php-fpm.conf": "[www]\nlisten = 127.0.0.1:${LNMP_TEST_PORT}\nenv[HOSTNAME] = $LNMP_TEST_HOST\nenv[NONE] = $LNMP_TEST_UNSET\n",
	})
	cfg, err := Load(root+"/php-fpm.conf", "/usr")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	p := cfg.Pools[0]
	if p.Listen.Address != "127.0.0.1:9123" || p.Env["HOSTNAME"] != "worker-7" || p.Env["NONE"] != "" {
		t.Errorf("got listen %s, env %q", p.Listen, p.Env)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "20", want: "20s"}, {in: "20s", want: "20s"}, {in: "2m", want: "2m0s"},
		{in: "1h", want: "1h0m0s"}, {in: "1d", want: "24h0m0s"}, {in: "0", want: "0s"},
		{in: "1.5m", want: "1m0s"}, {in: "-5", want: "-5s"}, {in: "s", want: "0s"},
		{in: "", wantErr: true}, {in: "10x", wantErr: true}, {in: "5 min", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if tt.wantErr != (err != nil) || err == nil && got.String() != tt.want {
			t.Errorf("parseTime(%q) = %v, %v; want %s (error: %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "9000", want: "127.0.0.1:9000"},
		{in: "0.0.0.0:9000", want: "127.0.0.1:9000"},
		{in: "[::]:9000", want: "[::1]:9000"},
		{in: "[::1]:9000", want: "[::1]:9000"},
		{in: "::1:9000", want: "[::1]:9000"},
		{in: "localhost:9000", want: "localhost:9000"},
		{in: "/run/php.sock", want: "unix:/run/php.sock"},
		{in: "run/php.sock", want: "unix:/usr/run/php.sock"},
		{in: "0", wantErr: "invalid port"},
		{in: "127.0.0.1:http", wantErr: "invalid port"},
		{in: "127.0.0.1:70000", wantErr: "invalid port"},
	}
	for _, tt := range tests {
		got, err := parseListen(tt.in, "/usr")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseListen(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
		} else if err != nil || got.String() != tt.want {
			t.Errorf("parseListen(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

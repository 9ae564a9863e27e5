package nginx

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
)

// loadString loads src as the main file of a fresh directory.
func loadString(t *testing.T, src string) (*Config, error) {
	t.Helper()
	dir := writeTree(t, map[string]string{"main.conf": src})
	return Load(filepath.Join(dir, "main.conf"))
}

func TestLoadMainDirectives(t *testing.T) {
	tests := []struct {
		name, src       string
		sets, on        bool
		pid             string
		shutdownTimeout time.Duration
		wantErr         string
	}{
		{name: "unset", src: "events {}"},
		{name: "daemon off", src: "daemon off;", sets: true},
		{name: "daemon on", src: "daemon on;", sets: true, on: true},
		{name: "daemon case-insensitive", src: "daemon OFF;", sets: true},
		{name: "daemon inside a block is not top-level", src: "events { daemon on; }"},
		{name: "pid", src: `pid "/run/x y.pid";`, pid: "/run/x y.pid"},
		{name: "timeout", src: "worker_shutdown_timeout 1m30s;", shutdownTimeout: 90 * time.Second},
		{name: "all", src: "daemon off; pid p; worker_shutdown_timeout 500ms;", sets: true, pid: "p", shutdownTimeout: 500 * time.Millisecond},
		{name: "daemon invalid", src: "daemon yes;", wantErr: `"daemon" directive in MAIN:1: invalid value "yes", it must be "on" or "off"`},
		{name: "daemon duplicate", src: "daemon off;\ndaemon off;", wantErr: `"daemon" directive is duplicate in MAIN:2`},
		{name: "pid without value", src: "pid;", wantErr: `invalid number of arguments in "pid" directive in MAIN:1`},
		{name: "pid with two values", src: "pid a b;", wantErr: `invalid number of arguments in "pid" directive`},
		{name: "timeout invalid", src: "worker_shutdown_timeout 1y;", wantErr: `"worker_shutdown_timeout" directive in MAIN:1: invalid time "1y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main := filepath.Join(writeTree(t, map[string]string{"main.conf": tt.src}), "main.conf")
			cfg, err := Load(main)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load succeeded, want error %q", tt.wantErr)
				}
				want := strings.ReplaceAll(tt.wantErr, "MAIN", main)
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("Load error = %v, want it to contain %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.SetsDaemon != tt.sets || cfg.DaemonOn != tt.on {
				t.Errorf("SetsDaemon, DaemonOn = %v, %v; want %v, %v", cfg.SetsDaemon, cfg.DaemonOn, tt.sets, tt.on)
			}
			if cfg.PidFile != tt.pid {
				t.Errorf("PidFile = %q, want %q", cfg.PidFile, tt.pid)
			}
			if cfg.WorkerShutdownTimeout != tt.shutdownTimeout {
				t.Errorf("WorkerShutdownTimeout = %v, want %v", cfg.WorkerShutdownTimeout, tt.shutdownTimeout)
			}
		})
	}
}

func TestLoadDaemonFromInclude(t *testing.T) {
	// A top-level include puts its directives at the top level, so nginx
	// would refuse -g "daemon off;" for this config too.
	dir := writeTree(t, map[string]string{"main.conf": "include conf.d/*.conf;", "conf.d/d.conf": "daemon off;"})
	cfg, err := Load(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.SetsDaemon {
		t.Error("SetsDaemon = false for daemon in a top-level include, want true")
	}
}

func TestParseTime(t *testing.T) {
	// Every value below was also given to nginx 1.22 as
	// worker_shutdown_timeout: the valid ones pass nginx -t, the invalid
	// ones fail it with "invalid value".
	tests := []struct {
		in   string
		want time.Duration // Negative: an error is wanted.
	}{
		{"10", 10 * time.Second},
		{"0", 0},
		{"0s", 0},
		{"10s", 10 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"1ms", time.Millisecond},
		{"1m30s", 90 * time.Second},
		{"1m30", 90 * time.Second},
		{"1m 30s", 90 * time.Second},
		{"1m30s ", 90 * time.Second},
		{"1s500ms", 1500 * time.Millisecond},
		{"1h", time.Hour},
		{"1h1ms", time.Hour + time.Millisecond},
		{"1d", 24 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"1M", -1},
		{"1y", -1},
		{"500ms1s", -1},
		{"1m1m", -1},
		{"1.5s", -1},
		{"1S", -1},
		{"x", -1},
		{"", -1},
		{"s", -1},
		{"99999999999999999999", -1},
		{"m1s", time.Second},
		{"1ms2", 2*time.Second + time.Millisecond},
		{"300000w", math.MaxInt64}, // nginx accepts it; no Duration holds it.
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		switch {
		case tt.want < 0 && err == nil:
			t.Errorf("parseTime(%q) = %v, want an error", tt.in, got)
		case tt.want >= 0 && err != nil:
			t.Errorf("parseTime(%q): %v", tt.in, err)
		case tt.want >= 0 && got != tt.want:
			t.Errorf("parseTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseListen(t *testing.T) {
	tcp := func(a string) listen.Addr { return listen.Addr{Network: "tcp", Address: a} }
	tests := []struct {
		in      string
		want    listen.Addr
		skip    bool
		wantErr bool
	}{
		{in: "8080", want: tcp("127.0.0.1:8080")},
		{in: "*:8080", want: tcp("127.0.0.1:8080")},
		{in: "0.0.0.0:8080", want: tcp("127.0.0.1:8080")},
		{in: "[::]:8080", want: tcp("[::1]:8080")},
		{in: "[::1]:8080", want: tcp("[::1]:8080")},
		{in: "127.0.0.2:80", want: tcp("127.0.0.2:80")},
		{in: "localhost:8080", want: tcp("localhost:8080")},
		// Measured: nginx listens on port 80 for an address without a port.
		{in: "127.0.0.2", want: tcp("127.0.0.2:80")},
		{in: "[::1]", want: tcp("[::1]:80")},
		{in: "*", want: tcp("127.0.0.1:80")},
		{in: "localhost", want: tcp("localhost:80")},
		{in: "unix:/run/x.sock", want: listen.Addr{Network: "unix", Address: "/run/x.sock"}},
		{in: "$port", skip: true},
		{in: "127.0.0.1:$port", skip: true},
		{in: "unix:", wantErr: true},
		{in: "127.0.0.1:http-alt-nonsense", wantErr: true},
	}
	for _, tt := range tests {
		got, ok, err := parseListen(tt.in)
		switch {
		case tt.wantErr:
			if err == nil {
				t.Errorf("parseListen(%q) = %v, want an error", tt.in, got)
			}
		case err != nil:
			t.Errorf("parseListen(%q): %v", tt.in, err)
		case ok == tt.skip:
			t.Errorf("parseListen(%q) ok = %v, want %v", tt.in, ok, !tt.skip)
		case got != tt.want:
			t.Errorf("parseListen(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestLoadListens(t *testing.T) {
	src := `
http {
	upstream php { server 127.0.0.1:9000; }
	server { listen 80 default_server; listen [::]:80 default_server ipv6only=on; }
	server { listen 0.0.0.0:80; listen 127.0.0.1:8080 ssl http2 reuseport backlog=511; }
	server { listen unix:/run/nginx.sock; location / { return 200; } }
	server { listen 443 quic; listen 443 ssl; }
	server { server_name no-listen; }
}
stream {
	server { listen 3306; proxy_pass db:3306; }
	server { listen 53 udp; proxy_pass dns:53; }
}
events {}
`
	cfg, err := loadString(t, src)
	if err != nil {
		t.Fatal(err)
	}
	port80 := defaultListen(os.Getuid()).Address == "127.0.0.1:80"
	want := []string{"127.0.0.1:80", "[::1]:80", "127.0.0.1:8080", "unix:/run/nginx.sock", "127.0.0.1:443"}
	if !port80 {
		want = append(want, "127.0.0.1:8000")
	}
	want = append(want, "127.0.0.1:3306")
	var got []string
	for _, a := range cfg.Listens {
		got = append(got, a.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Listens = %q, want %q", got, want)
	}
}

func TestDefaultListen(t *testing.T) {
	// Measured with nginx 1.22: a server without listen binds *:80 as root
	// and *:8000 as uid 33.
	if got := defaultListen(0).Address; got != "127.0.0.1:80" {
		t.Errorf("defaultListen(0) = %s, want 127.0.0.1:80", got)
	}
	if got := defaultListen(33).Address; got != "127.0.0.1:8000" {
		t.Errorf("defaultListen(33) = %s, want 127.0.0.1:8000", got)
	}
}

func TestLoadListenErrors(t *testing.T) {
	for _, src := range []string{"http { server { listen; } }", "http { server { listen unix:; } }"} {
		if _, err := loadString(t, src); err == nil || !strings.Contains(err.Error(), "main.conf:1") {
			t.Errorf("Load(%q) error = %v, want one naming main.conf:1", src, err)
		}
	}
}

func TestFastCGIWait(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		want       time.Duration
	}{
		{"default", "http { server { location / { fastcgi_pass 127.0.0.1:9000; } } }", 60 * time.Second},
		{"inherited from http", "http { fastcgi_read_timeout 5s; server { location / { fastcgi_pass 127.0.0.1:9000; } } }", 5 * time.Second},
		{"the longest location", "http { fastcgi_read_timeout 5s; server { location /a { fastcgi_pass x:9000; } location /b { fastcgi_read_timeout 2m; fastcgi_pass x:9000; } } }", 2 * time.Minute},
		{"set where nothing passes", "http { server { location /a { fastcgi_read_timeout 5m; } location / { fastcgi_pass x:9000; } } }", 60 * time.Second},
		{"no fastcgi_pass", "http { server { } }", 60 * time.Second},
	} {
		ld := &loader{prefix: "/etc/nginx/"}
		ds, err := ld.parseFile("/etc/nginx/test.conf", []byte(tc.conf), 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := fastcgiWait(ds); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

package nginx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
)

func TestFindStubStatus(t *testing.T) {
	stub := "location = /stub_status { stub_status; }"
	for _, tc := range []struct {
		name, http string
		want       *StubStatus // Where is checked for a line number only
	}{
		{"none", "server { listen 8080; location / { return 200; } }", nil},
		{"exact location", "server { listen 127.0.0.1:8081; " + stub + " }",
			&StubStatus{Addr: tcp("127.0.0.1:8081"), Path: "/stub_status", Host: "localhost"}},
		{"old syntax, prefix location, server name", "server { listen 8081; server_name status.local _; location /nginx_status { stub_status on; } }",
			&StubStatus{Addr: tcp("127.0.0.1:8081"), Path: "/nginx_status", Host: "status.local"}},
		{"loopback wins over the public server", "server { listen 8080; " + stub + " }\nserver { listen 127.0.0.1:8081; server_name ~^x; " + stub + " }",
			&StubStatus{Addr: tcp("127.0.0.1:8081"), Path: "/stub_status", Host: "localhost"}},
		{"wildcard wins over another address", "server { listen 10.1.2.3:80; " + stub + " }\nserver { listen [::]:8082; " + stub + " }",
			&StubStatus{Addr: tcp("[::1]:8082"), Path: "/stub_status", Host: "localhost"}},
		{"ssl listen skipped", "server { listen 127.0.0.1:8443 ssl; listen 127.0.0.1:8081; " + stub + " }",
			&StubStatus{Addr: tcp("127.0.0.1:8081"), Path: "/stub_status", Host: "localhost"}},
		{"only ssl", "server { listen 8443 ssl; " + stub + " }", nil},
		{"regex location skipped", `server { listen 8081; location ~ ^/st { stub_status; } }`, nil},
		{"nested location", "server { listen unix:/run/ngx.sock; location /admin/ { location = /admin/status { stub_status; } } }",
			&StubStatus{Addr: listen.Addr{Network: "unix", Address: "/run/ngx.sock"}, Path: "/admin/status", Host: "localhost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadString(t, "events {}\nhttp {\n"+tc.http+"\n}\n")
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.StubStatus
			if tc.want == nil || got == nil {
				if tc.want != got {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				return
			}
			if !strings.HasSuffix(got.Where, "main.conf:3") && !strings.HasSuffix(got.Where, "main.conf:4") {
				t.Errorf("Where %q", got.Where)
			}
			got.Where = ""
			if *got != *tc.want {
				t.Errorf("got %+v, want %+v", *got, *tc.want)
			}
		})
	}
}

func tcp(a string) listen.Addr { return listen.Addr{Network: "tcp", Address: a} }

// recordedStub is nginx 1.22's page, with its trailing spaces.
const recordedStub = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n"

func TestParseStubStatus(t *testing.T) {
	a, err := ParseStubStatus([]byte(recordedStub))
	if err != nil {
		t.Fatal(err)
	}
	want := Activity{Active: 291, Accepts: 16630948, Handled: 16630948, Requests: 31070465, Reading: 6, Writing: 179, Waiting: 106}
	if a != want {
		t.Errorf("got %+v, want %+v", a, want)
	}
	for _, bad := range []string{"", "<html>404</html>", strings.Replace(recordedStub, "Writing", "Writin", 1),
		strings.Replace(recordedStub, "179", "-1", 1), strings.Replace(recordedStub, "106", "1e3", 1), recordedStub + " 7"} {
		if a, err := ParseStubStatus([]byte(bad)); err == nil {
			t.Errorf("%q parsed as %+v", bad, a)
		}
	}
}

// TestReadStubStatus: over TCP and a unix socket, with the Host of the
// server; a 404 and a silent server are errors, the latter within ctx.
func TestReadStubStatus(t *testing.T) {
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		if r.URL.Path != "/stub_status" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, recordedStub)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := &StubStatus{Addr: tcp(srv.Listener.Addr().String()), Path: "/stub_status", Host: "status.local"}
	if a, err := s.Read(ctx); err != nil || a.Requests != 31070465 || host != "status.local" {
		t.Errorf("read %+v, %v, Host %q", a, err, host)
	}
	s.Path = "/other"
	if _, err := s.Read(ctx); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Errorf("a 404 read as %v", err)
	}

	sock := filepath.Join(t.TempDir(), "ngx.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	us := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, recordedStub) })}
	go us.Serve(ln)
	defer us.Close()
	s = &StubStatus{Addr: listen.Addr{Network: "unix", Address: sock}, Path: "/stub_status", Host: "localhost"}
	if a, err := s.Read(ctx); err != nil || a.Active != 291 {
		t.Errorf("over a unix socket: %+v, %v", a, err)
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		if c, err := silent.Accept(); err == nil {
			defer c.Close()
			time.Sleep(10 * time.Second)
		}
	}()
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	s = &StubStatus{Addr: tcp(silent.Addr().String()), Path: "/stub_status", Host: "localhost"}
	if _, err := s.Read(short); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("silent server: %v after %v", err, time.Since(start))
	}
}

// FuzzParseStubStatus: no input panics, and what parses is what the page
// would say.
func FuzzParseStubStatus(f *testing.F) {
	f.Add([]byte(recordedStub))
	f.Add([]byte("Active connections: 1\nserver accepts handled requests\n1 1 1\nReading: 0 Writing: 1 Waiting: 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseStubStatus(b)
		if err != nil {
			return
		}
		again := fmt.Sprintf("Active connections: %d \nserver accepts handled requests\n %d %d %d \nReading: %d Writing: %d Waiting: %d \n",
			a.Active, a.Accepts, a.Handled, a.Requests, a.Reading, a.Writing, a.Waiting)
		if b2, err := ParseStubStatus([]byte(again)); err != nil || b2 != a {
			t.Fatalf("%+v does not round-trip: %+v, %v", a, b2, err)
		}
	})
}

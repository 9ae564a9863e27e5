package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
	"github.com/lnmp-init/lnmp-init/promtext"
)

// statusJSON is a php-fpm 8.2 answer with 3 of 4 workers busy in the list
// and a summary that lags behind it.
const statusJSON = `{"pool":"www","process manager":"dynamic","start time":1796144872,"start since":42,"accepted conn":8,` +
	`"listen queue":2,"max listen queue":3,"listen queue len":4096,"idle processes":1,"active processes":2,"total processes":3,` +
	`"max active processes":3,"max children reached":1,"slow requests":0, "processes":[` +
	`{"pid":11,"state":"Running","start time":1,"start since":1,"requests":2,"request duration":313961,"request method":"GET","request uri":"\/slow.php","content length":0,"user":"-","script":"\/app\/slow.php","last request cpu":0.00,"last request memory":0},` +
	`{"pid":12,"state":"Idle","start time":1,"start since":1,"requests":5,"request duration":100,"request method":"GET","request uri":"\/","content length":0,"user":"-","script":"-","last request cpu":12.5,"last request memory":2097152},` +
	`{"pid":13,"state":"Reading headers","start time":1,"start since":1,"requests":0,"request duration":0,"request method":"-","request uri":"-","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":0},` +
	`{"pid":14,"state":"Running","start time":1,"start since":1,"requests":1,"request duration":1,"request method":"GET","request uri":"\/fpm-status?json&full","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":0}]}`

// fcgiPool serves statusJSON over FastCGI, after delay, and returns the
// address.
func fcgiPool(t *testing.T, delay time.Duration) listen.Addr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		body := statusJSON
		if !strings.Contains(r.URL.RawQuery, "full") {
			body = body[:strings.Index(body, `, "processes"`)] + "}"
		}
		fmt.Fprint(w, body)
	}))
	return listen.Addr{Network: "tcp", Address: ln.Addr().String()}
}

func collect(c Collector) string {
	var w promtext.Writer
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	c.Collect(ctx, &w)
	return string(w.Bytes())
}

func TestPoolCollector(t *testing.T) {
	status := fcgiPool(t, 0)
	pools := []phpfpm.Pool{
		{Name: "www", PM: "dynamic", MaxChildren: 8, StatusPath: "/fpm-status", Listen: status},
		{Name: "side", PM: "static", MaxChildren: 4, StatusPath: "/status", Listen: tcpAddr("127.0.0.1:1"), StatusListen: status},
		{Name: "quiet", PM: "ondemand", MaxChildren: 2, Listen: tcpAddr("127.0.0.1:1")},
	}
	c := NewPoolCollector(func() []phpfpm.Pool { return pools }, false, nil)
	out := collect(c)
	www := `{pool="www",scrape_uri="tcp://` + status.Address + `/fpm-status"}`
	side := `{pool="side",scrape_uri="tcp://` + status.Address + `/status"}`
	for _, want := range []string{
		"# TYPE phpfpm_up gauge", "phpfpm_up" + www + " 1", "phpfpm_up" + side + " 1",
		"phpfpm_scrape_failures" + www + " 0",
		"# TYPE phpfpm_accepted_connections counter", "phpfpm_accepted_connections" + www + " 8",
		"phpfpm_listen_queue" + www + " 2", "phpfpm_max_listen_queue" + www + " 3", "phpfpm_listen_queue_length" + www + " 4096",
		// From the summary: no process list was asked for.
		"phpfpm_active_processes" + www + " 2", "phpfpm_idle_processes" + www + " 1", "phpfpm_total_processes" + www + " 3",
		"phpfpm_max_children_reached" + www + " 1", "phpfpm_start_since" + www + " 42",
		`phpfpm_max_children{pool="www"} 8`, `phpfpm_max_children{pool="quiet"} 2`,
		`phpfpm_pm_mode{pool="www",mode="dynamic"} 1`, `phpfpm_pm_mode{pool="quiet",mode="ondemand"} 1`,
		// www is read on its own listen address: one of the 2 busy is the
		// status request. side has a status listener: both count.
		`phpfpm_saturation{pool="www"} 0.125`, `phpfpm_saturation{pool="side"} 0.5`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	for _, absent := range []string{`pool="quiet",scrape_uri`, "phpfpm_process_", `phpfpm_saturation{pool="quiet"}`} {
		if strings.Contains(out, absent) {
			t.Errorf("%q in:\n%s", absent, out)
		}
	}
}

func TestPoolCollectorProcessMetrics(t *testing.T) {
	pools := []phpfpm.Pool{{Name: "www", PM: "dynamic", MaxChildren: 8, StatusPath: "/fpm-status", StatusListen: fcgiPool(t, 0)}}
	out := collect(NewPoolCollector(func() []phpfpm.Pool { return pools }, true, nil))
	uri := `scrape_uri="tcp://` + pools[0].StatusListen.Address + `/fpm-status"`
	for _, want := range []string{
		// Counted from the list: 3 busy (Running, Reading headers, Running), 1 idle.
		`phpfpm_active_processes{pool="www",` + uri + `} 3`, `phpfpm_idle_processes{pool="www",` + uri + `} 1`,
		`phpfpm_total_processes{pool="www",` + uri + `} 4`, `phpfpm_saturation{pool="www"} 0.375`,
		`phpfpm_process_requests{pool="www",child="1",` + uri + `} 5`,
		`phpfpm_process_last_request_memory{pool="www",child="1",` + uri + `} 2.097152e+06`,
		`phpfpm_process_last_request_cpu{pool="www",child="1",` + uri + `} 12.5`,
		`phpfpm_process_request_duration{pool="www",child="0",` + uri + `} 313961`,
		`phpfpm_process_state{pool="www",child="2",state="Reading headers",` + uri + `} 1`,
		`phpfpm_process_state{pool="www",child="2",state="Idle",` + uri + `} 0`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "phpfpm_process_state{"); n != 4*6 {
		t.Errorf("%d process_state samples, want 6 states for each of 4 processes", n)
	}
}

// TestPoolCollectorHungPool: a pool that never answers costs the scrape
// its deadline and reads as phpfpm_up 0, its failures counted, with no
// values from an old scrape; the pool that answers is unaffected.
func TestPoolCollectorHungPool(t *testing.T) {
	hung := fcgiPool(t, time.Hour)
	pools := []phpfpm.Pool{
		{Name: "hung", MaxChildren: 4, StatusPath: "/status", Listen: hung},
		{Name: "ok", MaxChildren: 4, StatusPath: "/status", StatusListen: fcgiPool(t, 0)},
	}
	c := NewPoolCollector(func() []phpfpm.Pool { return pools }, false, nil)
	for i := 1; i <= 2; i++ {
		start := time.Now()
		out := collect(c)
		if d := time.Since(start); d > ScrapeTimeout+time.Second {
			t.Errorf("scrape %d took %v", i, d)
		}
		h := `{pool="hung",scrape_uri="tcp://` + hung.Address + `/status"}`
		for _, want := range []string{"phpfpm_up" + h + " 0", fmt.Sprintf("phpfpm_scrape_failures%s %d", h, i), `phpfpm_up{pool="ok"`} {
			if !strings.Contains(out, want) {
				t.Errorf("scrape %d: no %q in:\n%s", i, want, out)
			}
		}
		if strings.Contains(out, "phpfpm_active_processes"+h) || strings.Contains(out, `phpfpm_saturation{pool="hung"}`) {
			t.Errorf("scrape %d: values for the hung pool:\n%s", i, out)
		}
	}
}

func TestNginxCollector(t *testing.T) {
	page := "Active connections: 3 \nserver accepts handled requests\n 10 9 25 \nReading: 0 Writing: 1 Waiting: 2 \n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, page) }))
	defer srv.Close()
	stub := &nginx.StubStatus{Addr: tcpAddr(srv.Listener.Addr().String()), Path: "/stub_status", Host: "localhost"}
	out := collect(NewNginxCollector(func() *nginx.StubStatus { return stub }, nil))
	for _, want := range []string{"nginx_up 1", "nginx_connections_active 3", "nginx_connections_accepted 10",
		"nginx_connections_handled 9", "nginx_http_requests_total 25", "nginx_connections_reading 0",
		"nginx_connections_writing 1", "nginx_connections_waiting 2", "# TYPE nginx_http_requests_total counter"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	srv.Close()
	if out := collect(NewNginxCollector(func() *nginx.StubStatus { return stub }, nil)); !strings.HasSuffix(out, "nginx_up 0\n") ||
		strings.Contains(out, "nginx_connections") {
		t.Errorf("nginx gone:\n%s", out)
	}
	if out := collect(NewNginxCollector(func() *nginx.StubStatus { return nil }, nil)); out != "" {
		t.Errorf("no stub_status location, yet:\n%s", out)
	}
}

func tcpAddr(a string) listen.Addr { return listen.Addr{Network: "tcp", Address: a} }

package phpfpm

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
)

// Answers of php-fpm 8.2 (Debian 12), recorded over FastCGI: the summary
// from a pm.status_listen address, and the full status from the pool's own
// listen address, where the status request itself is the Running worker.
const (
	cgiHeaders    = "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nCache-Control: no-cache, no-store, must-revalidate, max-age=0\r\nContent-Type: application/json\r\n\r\n"
	recordedShort = cgiHeaders + `{"pool":"www","process manager":"dynamic","start time":1796144872,"start since":8,"accepted conn":0,"listen queue":0,"max listen queue":0,"listen queue len":4096,"idle processes":1,"active processes":0,"total processes":1,"max active processes":0,"max children reached":0,"slow requests":0}`
	recordedFull  = cgiHeaders + `{"pool":"two","process manager":"static","start time":1796144872,"start since":9,"accepted conn":1,"listen queue":0,"max listen queue":0,"listen queue len":4096,"idle processes":1,"active processes":1,"total processes":2,"max active processes":1,"max children reached":0,"slow requests":0, "processes":[{"pid":25221,"state":"Idle","start time":1796144872,"start since":9,"requests":0,"request duration":0,"request method":"-","request uri":"-","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":0},{"pid":25222,"state":"Running","start time":1796144872,"start since":9,"requests":1,"request duration":382,"request method":"GET","request uri":"\/status?json&full","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":2097152}]}`
)

func TestParseStatus(t *testing.T) {
	st, err := ParseStatus([]byte(recordedShort))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Pool: "www", ProcessManager: "dynamic", StartTime: 1796144872, StartSince: 8, ListenQueueLen: 4096,
		IdleProcesses: 1, TotalProcesses: 1}
	if st.Pool != want.Pool || st.ProcessManager != want.ProcessManager || st.StartTime != want.StartTime ||
		st.StartSince != want.StartSince || st.ListenQueueLen != want.ListenQueueLen || st.IdleProcesses != 1 ||
		st.TotalProcesses != 1 || st.Processes != nil {
		t.Errorf("got %+v\nwant %+v", *st, want)
	}
	if a, i, n := st.Counts(); a != 0 || i != 1 || n != 1 {
		t.Errorf("counts from the summary: %d active, %d idle, %d total", a, i, n)
	}

	st, err = ParseStatus([]byte(recordedFull))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Processes) != 2 || st.Processes[1].PID != 25222 || st.Processes[1].State != "Running" ||
		st.Processes[1].Requests != 1 || st.Processes[1].RequestDuration != 382 || st.Processes[1].LastRequestMemory != 2097152 {
		t.Errorf("processes %+v", st.Processes)
	}
	if a, i, n := st.Counts(); a != 1 || i != 1 || n != 2 {
		t.Errorf("counts from the list: %d active, %d idle, %d total", a, i, n)
	}
}

// TestCountsPreferTheList: the summary lags (a worker forked for a burst
// is counted at the next maintenance), the list does not.
func TestCountsPreferTheList(t *testing.T) {
	st := Status{ActiveProcesses: 2, IdleProcesses: 0, TotalProcesses: 2,
		Processes: []Process{{State: "Running"}, {State: "Reading headers"}, {State: "Running"}, {State: "Idle"}}}
	if a, i, n := st.Counts(); a != 3 || i != 1 || n != 4 {
		t.Errorf("%d active, %d idle, %d total; want 3, 1, 4", a, i, n)
	}
}

func TestParseStatusRefuses(t *testing.T) {
	for name, answer := range map[string]string{
		"not found":  "Status: 404 Not Found\r\nContent-type: text/html; charset=UTF-8\r\n\r\nFile not found.\n",
		"no headers": `{"pool":"www"}`,
		"html":       "Content-Type: text/html\r\n\r\n<html>pool: www</html>",
		"no pool":    cgiHeaders + `{"accepted conn":3}`,
		"truncated":  recordedFull[:len(recordedFull)-40],
	} {
		if st, err := ParseStatus([]byte(answer)); err == nil {
			t.Errorf("%s: parsed as %+v", name, st)
		}
	}
}

// fakeStatusPool serves answer over FastCGI and records the query strings
// it was asked with.
func fakeStatusPool(t *testing.T, answer string, queries chan<- string) Pool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.Path + "?" + r.URL.RawQuery
		head, body, _ := strings.Cut(answer, "\r\n\r\n")
		for line := range strings.SplitSeq(head, "\r\n") {
			k, v, _ := strings.Cut(line, ": ")
			w.Header().Set(k, v)
		}
		w.Write([]byte(body))
	}))
	return Pool{Name: "www", StatusPath: "/fpm-status", Listen: listen.Addr{Network: "tcp", Address: "127.0.0.1:1"},
		StatusListen: listen.Addr{Network: "tcp", Address: ln.Addr().String()}}
}

// TestReadStatusAsksTheStatusListener: the request goes to
// pm.status_listen, for JSON, with full only when asked.
func TestReadStatusAsksTheStatusListener(t *testing.T) {
	queries := make(chan string, 2)
	p := fakeStatusPool(t, recordedFull, queries)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, full := range []bool{false, true} {
		st, err := p.ReadStatus(ctx, full)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{false: "/fpm-status?json", true: "/fpm-status?json&full"}[full]
		if q := <-queries; q != want || st.Pool != "two" {
			t.Errorf("full=%v: asked %q (want %q), pool %q", full, q, want, st.Pool)
		}
	}
	if got := p.StatusURI(); got != "tcp://"+p.StatusListen.Address+"/fpm-status" {
		t.Errorf("StatusURI %s", got)
	}
	p.StatusListen = listen.Addr{}
	p.Listen = listen.Addr{Network: "unix", Address: "/run/php/www.sock"}
	if got := p.StatusURI(); got != "unix:///run/php/www.sock;/fpm-status" {
		t.Errorf("StatusURI %s", got)
	}
}

// FuzzParseStatus: any answer parses or fails without a panic, and what
// parses has counts that add up.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(recordedShort))
	f.Add([]byte(recordedFull))
	f.Add([]byte("Status: 404 Not Found\r\n\r\nFile not found."))
	f.Add([]byte(cgiHeaders + `{"pool":"\u0000","processes":[{"state":null},{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatus(b)
		if err != nil {
			return
		}
		if st.Pool == "" {
			t.Fatal("parsed without a pool name")
		}
		if a, i, n := st.Counts(); len(st.Processes) > 0 && (a+i != n || n != int64(len(st.Processes))) {
			t.Fatalf("counts %d + %d != %d for %d processes", a, i, n, len(st.Processes))
		}
		if _, err := json.Marshal(st); err != nil {
			t.Fatal(err)
		}
	})
}

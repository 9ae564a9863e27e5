package phpfpm

import (
	"context"
	"net"
	"net/http"
	"net/http/fcgi"
	"testing"
	"time"

	"github.com/lnmp-init/lnmp-init/listen"
)

// fakePool serves FastCGI with answer, standing in for a php-fpm pool.
func fakePool(t *testing.T, answer string) Pool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(answer))
	}))
	return Pool{Name: "www", Listen: listen.Addr{Network: "tcp", Address: ln.Addr().String()}}
}

func TestPing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := fakePool(t, "pong")
	if err := p.Ping(ctx); err != nil {
		t.Errorf("no ping.path: %v", err)
	}
	p.PingPath, p.PingResponse = "/fpm-ping", "pong"
	if err := p.Ping(ctx); err != nil {
		t.Errorf("ping.path answered pong: %v", err)
	}
	p.PingResponse = "alive"
	if err := p.Ping(ctx); err == nil {
		t.Error("a wrong ping answer passed")
	}
	p.Listen.Address = "127.0.0.1:1"
	if err := p.Ping(ctx); err == nil {
		t.Error("a closed port passed")
	}
}

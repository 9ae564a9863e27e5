// Package listen holds the addresses a server listens on and the check that
// they accept connections, shared by the php-fpm and nginx config readers.
package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Addr is one listening address: Network is "tcp" or "unix", Address is what
// net.Dial takes for that network.
type Addr struct {
	Network string
	Address string
}

// String returns the address in the form net.Dial takes, with "unix:" in front
// of socket paths.
func (a Addr) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Address
	}
	return a.Address
}

// ParseTCP turns a server's TCP listen value (nginx's "8080", "*:8080",
// "[::]:80", "127.0.0.1:9000"; php-fpm's "9000", "0.0.0.0:9000") into an
// address to dial. Wildcard hosts dial loopback, since the check runs in the
// same network namespace as the server.
func ParseTCP(value string) (Addr, error) {
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		// A bare port: the server listens on every address.
		host, port = "", value
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return Addr{}, fmt.Errorf("listen address %q: no valid port", value)
	}
	switch host {
	case "", "*", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return Addr{Network: "tcp", Address: net.JoinHostPort(host, port)}, nil
}

// Accepting reports nil when a connection to a succeeds.
func (a Addr) Accepting(ctx context.Context) error {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, a.Network, a.Address)
	if err != nil {
		return err
	}
	return conn.Close()
}

// WaitAccepting polls every address until each accepts a connection, every
// interval, or until ctx ends. It returns the last dial error with ctx's error.
func WaitAccepting(ctx context.Context, addrs []Addr, interval time.Duration) error {
	for _, a := range addrs {
		for {
			err := a.Accepting(ctx)
			if err == nil {
				break
			}
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("waiting for %s to accept connections: %w", a, errors.Join(ctx.Err(), err))
			case <-t.C:
			}
		}
	}
	return nil
}

// Package listen holds the addresses a server listens on and the check that
// they accept connections, shared by the php-fpm and nginx config readers.
package listen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
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

// CheckFree reports whether a server could start listening on a, unless a
// is one of held (the addresses the server listens on already, which it
// keeps across a reload). For TCP it binds a for a moment: that finds a
// port someone else holds, an address this host does not have, a port
// below 1024 for a non-root user. For a unix socket the directory must
// exist and be writable, and nothing may answer on the path yet.
func CheckFree(a Addr, held []Addr) error {
	if slices.Contains(held, a) {
		return nil
	}
	if a.Network == "unix" {
		return checkSocketPath(a.Address)
	}
	ln, err := net.Listen(a.Network, a.Address)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return fmt.Errorf("cannot listen on %s: %w", a, err)
	}
	return ln.Close()
}

func checkSocketPath(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot create socket %s: directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("cannot create socket %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("cannot create socket %s: %s is not a directory", path, dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("cannot create socket %s: directory %s: %w", path, dir, err)
	}
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return fmt.Errorf("cannot listen on unix:%s: something answers there already", path)
	}
	return nil
}

// UnixAccess reports whether a process of uid with the groups gids may
// connect to the unix socket at path, which needs write permission on the
// socket file: php-fpm creates it with listen.owner, listen.group and
// listen.mode (0660, owned by the master's user, by default), and a worker
// of another server that may not write to it gets EACCES on every request.
func UnixAccess(path string, uid int, gids []int) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	var bit uint32
	switch {
	case uid == 0:
		return nil
	case int(st.Uid) == uid:
		bit = 0o200
	case slices.Contains(gids, int(st.Gid)):
		bit = 0o020
	default:
		bit = 0o002
	}
	if st.Mode&bit == 0 {
		return fmt.Errorf("socket %s is owned by uid %d, gid %d, mode %04o: uid %d (groups %v) may not connect to it",
			path, st.Uid, st.Gid, st.Mode&0o7777, uid, gids)
	}
	return nil
}

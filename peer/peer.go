// Package peer orders the stop of the two containers of one pod, nginx in
// one and php-fpm in the other, when Kubernetes signals both at once (a
// pod without native sidecars).
//
// The nginx side holds a shared lock on a file in a volume both containers
// mount (an emptyDir) for as long as nginx may send requests to php-fpm:
// from before nginx starts until lnmp-init exits after nginx has stopped.
// The php-fpm side, once its own stop begins, waits until it can take the
// lock exclusively, which is when no nginx side holds it any more, and
// only then stops php-fpm. A lock dies with the process that holds it, so
// a crashed or killed nginx side cannot leave php-fpm waiting, and the
// wait is bounded by the stop timeout in any case.
//
// The alternatives were weighed: watching php-fpm's FastCGI connections
// go idle cannot tell "nginx is done" from "no request right now" during
// the drain, when load balancers still send; shareProcessNamespace, to see
// nginx's processes from the php-fpm container, changes the pod's security
// (every container sees and can signal every other's processes) and makes
// the pause process PID 1 instead of lnmp-init. A lock file needs only a
// shared emptyDir, which the two containers usually share already for the
// unix socket between them.
package peer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// poll is how often Wait tries the lock.
const poll = 50 * time.Millisecond

// Hold takes the shared lock on path, creating the file (mode 0666, so a
// php-fpm side of another user can open it too), and keeps it until the
// returned file is closed or the process ends.
func Hold(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("peer lock %s: %w", path, err)
	}
	_ = f.Chmod(0o666) // the umask may have taken bits away; best effort
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("peer lock %s: %w", path, err)
	}
	return f, nil
}

// CheckDir reports whether the lock file at path can be, or is, there: its
// directory must exist. The php-fpm side checks it at start, since Wait
// takes a missing file for "no nginx side ever held it" and would stop
// php-fpm at once, during nginx's drain.
func CheckDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("peer lock %s: %w (mount the volume the nginx side shares)", path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("peer lock %s: %s is not a directory", path, dir)
	}
	return nil
}

// Wait waits until no one holds the lock on path, or ctx ends, and says
// whether a holder was there at all. A missing file means no peer ever
// held it.
func Wait(ctx context.Context, path string) (held bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("peer lock %s: %w", path, err)
	}
	defer f.Close()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
			return held, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return held, fmt.Errorf("peer lock %s: %w", path, err)
		}
		held = true
		select {
		case <-ctx.Done():
			return held, fmt.Errorf("peer lock %s still held: %w", path, ctx.Err())
		case <-time.After(poll):
		}
	}
}

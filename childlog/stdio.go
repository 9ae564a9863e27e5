package childlog

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is asked for each child pipe (F_SETPIPE_SZ). The kernel's
// default, 64 KiB, is a few milliseconds of a busy access log; a larger
// pipe absorbs a moment when lnmp-init is not scheduled, without blocking
// the child. Pages are used only while data waits in the pipe.
const pipeSize = 256 << 10

// childPipe returns a pipe for one child stream, both ends blocking and
// close-on-exec; the child gets the write end as fd 1 or 2.
//
// The read end stays out of Go's poller on purpose: there, every write of
// the child wakes lnmp-init (epoll reports each), even while the reader
// lingers (see linger); a blocking read wakes only the thread that waits
// in it, and only while it waits. The price is one thread per stream,
// asleep in read(2).
func childPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("child output pipe: %w", err)
	}
	// Best effort: a user over its pipe-user-pages limit gets the default.
	_, _ = unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize)
	return os.NewFile(uintptr(p[0]), "child-output-read"), os.NewFile(uintptr(p[1]), "child-output-write"), nil
}

// dup returns a close-on-exec duplicate of f, for a child to inherit.
func dup(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicate %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// reopenable reports whether f can be opened again by path, as a child's
// error_log = /proc/self/fd/2 or access_log /dev/stdout would.
//
// A process can always write to a descriptor it inherited, but opening it
// by path opens the pipe anew, with a permission check against the pipe's
// owner. Container runtimes may hand a non-root container pipes owned by
// root, and then php-fpm's usual error_log = /proc/self/fd/2 fails (exit
// 78) and so does nginx's access_log /dev/stdout (docker-library/php#878).
// O_NONBLOCK keeps a FIFO without a reader from blocking the check.
func reopenable(f *os.File) bool {
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

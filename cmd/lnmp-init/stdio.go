package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// relayFlushWait bounds how long lnmp-init waits, at exit, for the last
// output of its children to be copied.
const relayFlushWait = time.Second

// childIO is what children write to.
type childIO struct {
	stdout, stderr *os.File
	// relayed is true when lnmp-init copies the children's output.
	relayed bool
	// flush ends the copying once the children are gone.
	flush func()
}

// childOutput returns the files children write to: lnmp-init's own stdout
// and stderr, written straight, when the children can reopen them.
//
// A process can always write to a descriptor it inherited, but opening
// /proc/self/fd/2 or /dev/stdout opens the pipe anew, with a permission
// check against the pipe's owner. Container runtimes hand a non-root
// container pipes owned by root, so php-fpm's usual error_log =
// /proc/self/fd/2 fails (exit 78) and so does nginx's access_log
// /dev/stdout (docker-library/php#878). Then lnmp-init gives its children
// pipes of its own, which they can reopen, and copies them to its output.
func childOutput() (*childIO, error) {
	var flushes []func()
	relay := func(f *os.File) (*os.File, error) {
		if reopenable(f) {
			return f, nil
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("relay pipe for %s: %w", f.Name(), err)
		}
		done := make(chan struct{})
		go func() {
			// Should lnmp-init's own output fail, keep draining: a full
			// pipe would block every child that logs.
			if _, err := io.Copy(f, r); err != nil {
				_, _ = io.Copy(io.Discard, r)
			}
			close(done)
		}()
		flushes = append(flushes, func() {
			w.Close()
			select {
			case <-done:
			case <-time.After(relayFlushWait):
			}
		})
		return w, nil
	}
	stdout, err := relay(os.Stdout)
	if err != nil {
		return nil, err
	}
	stderr, err := relay(os.Stderr)
	if err != nil {
		return nil, err
	}
	return &childIO{stdout: stdout, stderr: stderr, relayed: len(flushes) > 0, flush: func() {
		for _, f := range flushes {
			f()
		}
	}}, nil
}

// reopenable reports whether f can be opened again by path, as a child's
// error_log = /proc/self/fd/N would. O_NONBLOCK keeps a FIFO without a
// reader from blocking the check.
func reopenable(f *os.File) bool {
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

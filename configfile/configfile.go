// Package configfile reads the config files nginx and php-fpm are given,
// refusing what would hang or swamp lnmp-init before anything starts: a
// FIFO (reading it blocks until someone writes), a device such as
// /dev/zero (it never ends), anything larger than MaxSize.
package configfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxSize bounds one config file; real ones are a few kilobytes.
const MaxSize = 16 << 20

// Read returns the content of the regular file at path.
func Read(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO without a writer returns at once, and
	// the check below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, kind(fi.Mode()))
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; not a config file", path, MaxSize>>20)
	}
	return b, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

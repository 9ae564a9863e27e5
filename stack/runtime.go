package stack

import (
	"os"
	"sync"
)

// runtimeDir is the private directory lnmp-init writes copies of the last
// good configs to, made the first time one is needed (most runs never
// need one) and removed at the end.
type runtimeDir struct {
	once sync.Once
	path string
	err  error
}

// get makes the directory, once: mode 0700 under $TMPDIR or /tmp, which the
// examples keep writable even with a read-only root filesystem.
func (d *runtimeDir) get() (string, error) {
	d.once.Do(func() { d.path, d.err = os.MkdirTemp("", "lnmp-init-") })
	return d.path, d.err
}

// remove deletes the directory if it was made.
func (d *runtimeDir) remove() error {
	if d.path == "" {
		return nil
	}
	return os.RemoveAll(d.path)
}

package stack

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// runtimeDir is the private directory lnmp-init writes copies of the last
// good configs to, made once (at start, by Stack.PrepareRuntime, so that a
// container with nowhere to write hears of it then and not at the reload
// that needs it) and removed at the end.
type runtimeDir struct {
	once sync.Once
	path string
	err  error
	// candidates are the parents to try, in order; nil means
	// runtimeParents.
	candidates []string
}

// runtimeParents are where the directory may go: $TMPDIR (or /tmp), then
// the tmpfs mounts a container has writable even with a read-only root
// filesystem and no volume on /tmp (Docker and the kubelet mount /dev/shm
// for every container), then /run.
func runtimeParents() []string {
	return []string{os.TempDir(), "/dev/shm", "/run", "/var/tmp"}
}

// get makes the directory, once: mode 0700, in the first candidate where
// that works.
func (d *runtimeDir) get() (string, error) {
	d.once.Do(func() {
		parents := d.candidates
		if parents == nil {
			parents = runtimeParents()
		}
		var errs []error
		for _, parent := range parents {
			path, err := os.MkdirTemp(parent, "lnmp-init-")
			if err == nil {
				d.path = path
				return
			}
			errs = append(errs, err)
		}
		d.err = fmt.Errorf("no writable directory for the copy of the last config that worked (set TMPDIR, or mount an emptyDir on /tmp): %w", errors.Join(errs...))
	})
	return d.path, d.err
}

// remove deletes the directory if it was made.
func (d *runtimeDir) remove() error {
	if d.path == "" {
		return nil
	}
	return os.RemoveAll(d.path)
}

// Package lastgood keeps the config a server last served with, so that a
// restart never runs a config that has not worked yet.
//
// A config can pass the server's own test (php-fpm -t, nginx -t) and still
// fail once the server applies it: a pool on a port another process holds,
// a socket in a directory that is gone. php-fpm's master dies of such a
// reload, and a restart with the same files dies again; a ConfigMap update
// reaches every replica at once, so this takes every replica down. So each
// server's package gives a Keeper the text of its config flattened into one
// file (every include inlined) at start and after every reload that
// served, and asks it, at every start or restart, which file to run:
//
//   - the operator's own file while it still says what last served, so in
//     the usual case the server runs exactly the files it was given;
//   - otherwise a copy of the last good text, in a private directory, so
//     that the server comes back with the config it had. A change on disk
//     that never served is tried again by the next reload, which rewrites
//     the copy first (the server re-reads the file it was started with).
package lastgood

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Keeper holds the last good config of one server.
type Keeper struct {
	// Live is the operator's main config file.
	Live string
	// Name is the copy's file name, e.g. "php-fpm.conf".
	Name string
	// Dir returns the directory to write the copy in; it is asked once,
	// the first time a copy is needed.
	Dir func() (string, error)

	mu       sync.Mutex
	good     []byte // the flattened text that last served
	copyPath string // where the copy is, once written
	fromCopy bool   // the server was last started from the copy
}

// New returns a Keeper whose last good config is text, the config the
// server starts with.
func New(live, name string, text []byte, dir func() (string, error)) *Keeper {
	return &Keeper{Live: live, Name: name, Dir: dir, good: text}
}

// Launch returns the config file a start or restart must run, given the
// text the operator's files hold now: Live when it is the last good text,
// else the copy, written with the last good text. fallback says which.
func (k *Keeper) Launch(current []byte) (path string, fallback bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if bytes.Equal(current, k.good) {
		k.fromCopy = false
		return k.Live, false, nil
	}
	if err := k.writeCopy(k.good); err != nil {
		return k.Live, false, err
	}
	k.fromCopy = true
	return k.copyPath, true, nil
}

// Prepare is called before a reload signal with the text the reload
// applies. A server started from the copy re-reads the copy, so next is
// written there first; one started from Live reads Live itself.
func (k *Keeper) Prepare(next []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.fromCopy {
		return nil
	}
	return k.writeCopy(next)
}

// Served records that the server serves text now.
func (k *Keeper) Served(text []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.good = text
}

// FromCopy reports whether the server was last started from the copy.
func (k *Keeper) FromCopy() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fromCopy
}

// writeCopy writes text to the copy by rename, so that a server never
// reads half of it.
func (k *Keeper) writeCopy(text []byte) error {
	if k.copyPath == "" {
		dir, err := k.Dir()
		if err != nil {
			return fmt.Errorf("directory for the last good %s: %w", k.Name, err)
		}
		k.copyPath = filepath.Join(dir, k.Name)
	}
	tmp := k.copyPath + ".tmp"
	if err := os.WriteFile(tmp, text, 0o600); err != nil {
		return fmt.Errorf("write the last good %s: %w", k.Name, err)
	}
	if err := os.Rename(tmp, k.copyPath); err != nil {
		return fmt.Errorf("write the last good %s: %w", k.Name, err)
	}
	return nil
}

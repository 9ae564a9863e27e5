package lnmptest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names the kubelet reserves in a ConfigMap volume.
const (
	atomicDataLink = "..data"
	atomicTmpLink  = "..data_tmp"
)

// WriteAtomic makes dir hold exactly files (name -> content), laid out as a
// Kubernetes ConfigMap or Secret volume is by the kubelet's AtomicWriter:
//
//	dir/name        -> ..data/name   (created once, then kept)
//	dir/..data      -> ..2006_01_02_15_04_05.123456789
//	dir/..2006_01_02_15_04_05.123456789/name
//
// An update writes a new hidden directory, points ..data_tmp at it, renames
// ..data_tmp over ..data (the one atomic step), removes the visible links of
// names no longer in files, then deletes the old hidden directory. Like the
// kubelet it does nothing when the content is unchanged, and like the
// kubelet it names the hidden directory with os.MkdirTemp, so the suffix is
// a random number rather than nanoseconds. Names must be plain file names
// (no '/') not starting with "..". Callers must not write one dir from two
// goroutines at once, which the kubelet never does either.
func WriteAtomic(dir string, files map[string]string) error {
	for name := range files {
		if err := validAtomicName(name); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	oldTS, err := os.Readlink(filepath.Join(dir, atomicDataLink))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("atomic write: read %s: %w", atomicDataLink, err)
	}
	visible, err := visibleLinks(dir, files)
	if err != nil {
		return err
	}
	var stale []string
	for _, name := range visible {
		if _, keep := files[name]; !keep {
			stale = append(stale, name)
		}
	}
	if oldTS != "" && len(stale) == 0 && sameContent(filepath.Join(dir, oldTS), files) {
		return nil
	}

	ts, err := writeTimestampDir(dir, files)
	if err != nil {
		return err
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(atomicDataLink, name), link); err != nil {
			os.RemoveAll(filepath.Join(dir, ts))
			return fmt.Errorf("atomic write: %w", err)
		}
	}
	tmpLink := filepath.Join(dir, atomicTmpLink)
	// A writer that died between symlink and rename leaves ..data_tmp
	// behind; the kubelet would fail on it forever.
	if err := os.Remove(tmpLink); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("atomic write: %w", err)
	}
	if err := os.Symlink(ts, tmpLink); err != nil {
		os.RemoveAll(filepath.Join(dir, ts))
		return fmt.Errorf("atomic write: %w", err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, atomicDataLink)); err != nil {
		os.Remove(tmpLink)
		os.RemoveAll(filepath.Join(dir, ts))
		return fmt.Errorf("atomic write: swap %s: %w", atomicDataLink, err)
	}
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("atomic write: remove old %s: %w", name, err)
		}
	}
	if oldTS != "" && oldTS != ts {
		if err := os.RemoveAll(filepath.Join(dir, oldTS)); err != nil {
			return fmt.Errorf("atomic write: remove old data: %w", err)
		}
	}
	return nil
}

func validAtomicName(name string) error {
	if name == "" || name == "." || strings.ContainsRune(name, '/') || strings.HasPrefix(name, "..") {
		return fmt.Errorf("atomic write: file name %q: must be a plain name not starting with \"..\"", name)
	}
	return nil
}

// visibleLinks returns the names in dir that are this writer's links
// (name -> ..data/name). A name about to be written that exists as
// anything else is an error: it would otherwise shadow the new content.
func visibleLinks(dir string, files map[string]string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("atomic write: %w", err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, name))
		if err == nil && target == filepath.Join(atomicDataLink, name) {
			names = append(names, name)
			continue
		}
		if _, wanted := files[name]; wanted {
			return nil, fmt.Errorf("atomic write: %s exists and is not a link to %s/%s",
				filepath.Join(dir, name), atomicDataLink, name)
		}
	}
	return names, nil
}

func sameContent(tsDir string, files map[string]string) bool {
	entries, err := os.ReadDir(tsDir)
	if err != nil || len(entries) != len(files) {
		return false
	}
	for name, text := range files {
		got, err := os.ReadFile(filepath.Join(tsDir, name))
		if err != nil || !bytes.Equal(got, []byte(text)) {
			return false
		}
	}
	return true
}

// writeTimestampDir writes files into a new hidden directory and returns its
// name relative to dir. Modes are the kubelet's defaults (0755 directory,
// 0644 files), set explicitly because the umask would otherwise decide.
func writeTimestampDir(dir string, files map[string]string) (string, error) {
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return "", fmt.Errorf("atomic write: %w", err)
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		os.RemoveAll(ts)
		return "", fmt.Errorf("atomic write: %w", err)
	}
	for name, text := range files {
		p := filepath.Join(ts, name)
		if err := firstErr(os.WriteFile(p, []byte(text), 0o644), os.Chmod(p, 0o644)); err != nil {
			os.RemoveAll(ts)
			return "", fmt.Errorf("atomic write: %w", err)
		}
	}
	return filepath.Base(ts), nil
}

package lnmptest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// mkdirShared creates dir with mode 0777 whatever the umask, so uid 33 can
// create pid files, sockets and temp directories in it.
func mkdirShared(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create sandbox dir: %w", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("open sandbox dir to uid %d: %w", wwwDataUID, err)
	}
	return nil
}

// writeShared replaces path by rename, so a server reading it mid-write sees
// the old or the new text, and leaves it mode 0666 whatever the umask.
func writeShared(path, text string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.WriteString(text)
	cerr := f.Close()
	if err := firstErr(werr, cerr, os.Chmod(tmp, 0o666)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// searchableByWWWData fails when an ancestor of dir would stop uid 33 from
// reaching it: www-data workers read the app and the configs even when the
// masters are root.
func searchableByWWWData(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check sandbox ancestors: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		searchable := fi.Mode().Perm()&0o001 != 0 ||
			(ok && st.Uid == wwwDataUID && fi.Mode().Perm()&0o100 != 0)
		if !searchable {
			return fmt.Errorf("sandbox dir %s: ancestor %s (mode %04o) is not searchable by uid %d; "+
				"use a directory from os.MkdirTemp (t.TempDir's parent is 0700)", dir, p, fi.Mode().Perm(), wwwDataUID)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

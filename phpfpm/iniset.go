package phpfpm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/lnmp-init/lnmp-init/configfile"
)

// IniSet is what php-fpm reads as php.ini: the main file and the .ini
// files of its scan directories, in the order PHP reads them.
type IniSet struct {
	File    IniFile   // the main php.ini; Path "" when none
	Scanned []IniFile // each scan directory in order, its *.ini by name
}

// IniFile is one php.ini file and what it held.
type IniFile struct {
	Path string
	Text []byte
}

// ReadIniSet reads the php.ini files as PHP does: iniFile, then in each of
// scanDirs every regular file (symlinks followed, as in a ConfigMap
// volume) whose name ends in ".ini", sorted by name. A missing scan
// directory holds nothing.
func ReadIniSet(iniFile string, scanDirs []string) (IniSet, error) {
	var set IniSet
	if iniFile != "" {
		text, err := configfile.Read(iniFile)
		if err != nil {
			return IniSet{}, err
		}
		set.File = IniFile{Path: iniFile, Text: text}
	}
	for _, dir := range scanDirs {
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return IniSet{}, fmt.Errorf("read php.ini scan directory: %w", err)
		}
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".ini") {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for _, name := range names {
			path := filepath.Join(dir, name)
			if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
				continue // PHP skips what it cannot stat as a file
			}
			text, err := configfile.Read(path)
			if err != nil {
				return IniSet{}, err
			}
			set.Scanned = append(set.Scanned, IniFile{Path: path, Text: text})
		}
	}
	return set, nil
}

// Equal reports whether two sets hold the same files with the same text.
func (a IniSet) Equal(b IniSet) bool {
	same := func(x, y IniFile) bool { return x.Path == y.Path && bytes.Equal(x.Text, y.Text) }
	return same(a.File, b.File) && slices.EqualFunc(a.Scanned, b.Scanned, same)
}

// iniKeeper keeps the php.ini files php-fpm last served with, as package
// lastgood keeps php-fpm.conf: a php.ini change refused for a syntax
// error (php-fpm -t passes it, and php-fpm drops every setting after the
// bad line) must not be what a crash restarts with. A start from the copy
// runs php-fpm with -c COPY/php.ini and PHP_INI_SCAN_DIR=COPY/conf.d,
// which the copy's scanned files keep in PHP's order.
//
// It knows nothing until Know: php-fpm -i names the files only after the
// start, and a start never waits for it.
type iniKeeper struct {
	dir func() (string, error) // lnmp-init's runtime directory

	mu       sync.Mutex
	known    bool
	file     string   // php.ini's path, "" when none
	scanDirs []string // the scan directories
	good     *IniSet  // the set that last served; nil while unknown
	copyDir  string   // where the copy is, once written
	fromCopy bool     // php-fpm was last started from the copy
}

// Know records where php.ini is, and when good is not nil, what php-fpm
// serves with now.
func (k *iniKeeper) Know(iniFile string, scanDirs []string, good *IniSet) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.known, k.file, k.scanDirs, k.good = true, iniFile, slices.Clone(scanDirs), good
}

// current reads the files as they are now.
func (k *iniKeeper) current() (IniSet, bool, error) {
	k.mu.Lock()
	file, dirs, known := k.file, k.scanDirs, k.known
	k.mu.Unlock()
	if !known {
		return IniSet{}, false, nil
	}
	set, err := ReadIniSet(file, dirs)
	return set, true, err
}

// launch returns what a start adds to php-fpm's arguments and
// environment: nothing while the files are what last served (or nothing
// is known), else the copy of the last good set.
func (k *iniKeeper) launch() (args, env []string, fallback bool, err error) {
	now, known, readErr := k.current()
	k.mu.Lock()
	defer k.mu.Unlock()
	if !known || k.good == nil || readErr == nil && now.Equal(*k.good) {
		k.fromCopy = false
		return nil, nil, false, nil
	}
	if err := k.writeCopy(*k.good); err != nil {
		k.fromCopy = false
		return nil, nil, false, err
	}
	k.fromCopy = true
	return k.copyArgs(), k.copyEnv(), true, nil
}

// prepare is called before a reload: the files as they are now are what
// the reload applies, so a php-fpm running from the copy (which re-reads
// the copy's paths when it re-executes itself) gets them there. It
// returns the set for served.
func (k *iniKeeper) prepare() (*IniSet, error) {
	now, known, err := k.current()
	if !known {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fromCopy {
		if err := k.writeCopy(now); err != nil {
			return nil, err
		}
	}
	return &now, nil
}

// served records the set a reload served with.
func (k *iniKeeper) served(set *IniSet) {
	if set == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.good = set
}

func (k *iniKeeper) copyArgs() []string {
	return []string{"-c", filepath.Join(k.copyDir, "php.ini")}
}

func (k *iniKeeper) copyEnv() []string {
	return []string{scanDirEnv + "=" + filepath.Join(k.copyDir, "conf.d")}
}

// writeCopy replaces the copy with set. Called with mu held.
func (k *iniKeeper) writeCopy(set IniSet) error {
	if k.copyDir == "" {
		dir, err := k.dir()
		if err != nil {
			return err
		}
		k.copyDir = filepath.Join(dir, "php-ini")
	}
	scan := filepath.Join(k.copyDir, "conf.d")
	if err := os.RemoveAll(scan); err != nil {
		return fmt.Errorf("copy of the last good php.ini: %w", err)
	}
	if err := os.MkdirAll(scan, 0o700); err != nil {
		return fmt.Errorf("copy of the last good php.ini: %w", err)
	}
	// An empty php.ini stands for none: -c needs a file, and PHP's
	// defaults are what no php.ini gives.
	if err := os.WriteFile(filepath.Join(k.copyDir, "php.ini"), set.File.Text, 0o600); err != nil {
		return fmt.Errorf("copy of the last good php.ini: %w", err)
	}
	for i, f := range set.Scanned {
		// One directory for all: the number keeps PHP's reading order.
		name := fmt.Sprintf("%04d-%s", i, filepath.Base(f.Path))
		if err := os.WriteFile(filepath.Join(scan, name), f.Text, 0o600); err != nil {
			return fmt.Errorf("copy of the last good php.ini: %w", err)
		}
	}
	return nil
}

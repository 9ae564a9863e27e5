package lnmptest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sbinDirs are searched after $PATH because nginx and php-fpm live in
// /usr/sbin, which a non-root test runner's PATH often lacks.
const sbinDirs = "/usr/local/sbin:/usr/sbin:/sbin"

// Requirements reports why the process-level tests cannot run here, or nil
// when they can. They need root to create PID namespaces, unshare(1) to make
// lnmp-init PID 1, setpriv(1) to run it as uid 33 like a hardened container,
// and real nginx and php-fpm binaries to supervise.
func Requirements() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (unshare --pid needs CAP_SYS_ADMIN to make the process under test PID 1)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		missing = append(missing, "unshare from util-linux (runs the process under test as PID 1 of a new PID namespace)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		missing = append(missing, "setpriv from util-linux (runs the process under test as uid 33, as a non-root container does)")
	}
	if _, err := FindNginx(); err != nil {
		missing = append(missing, "nginx (one of the two servers lnmp-init supervises)")
	}
	if _, err := FindPHPFPM(); err != nil {
		missing = append(missing, "php-fpm (php-fpm8.x or php-fpm; the other server lnmp-init supervises)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("lnmptest: missing %s", strings.Join(missing, "; "))
	}
	// Root inside an unprivileged container may still lack CAP_SYS_ADMIN, so
	// try the real thing once.
	out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("lnmptest: unshare --pid --fork --mount-proc does not work here (%s): %w",
			strings.TrimSpace(string(out)), err)
	}
	return nil
}

// FindNginx returns the path of the nginx binary, looking in $PATH and then
// the sbin directories.
func FindNginx() (string, error) {
	return findBinary("nginx")
}

// FindPHPFPM returns the path of the php-fpm binary. Distributions name it
// after the PHP version (Debian: php-fpm8.2), so a plain php-fpm wins when
// present and otherwise the highest php-fpmX.Y found does.
func FindPHPFPM() (string, error) {
	if p, err := findBinary("php-fpm"); err == nil {
		return p, nil
	}
	var found []string
	for _, dir := range searchDirs() {
		matches, _ := filepath.Glob(filepath.Join(dir, "php-fpm[0-9]*"))
		for _, m := range matches {
			if isExecutable(m) {
				found = append(found, m)
			}
		}
	}
	if len(found) == 0 {
		return "", errors.New("php-fpm: no php-fpm or php-fpmX.Y in $PATH or " + sbinDirs)
	}
	sort.Slice(found, func(i, j int) bool {
		return versionLess(filepath.Base(found[j]), filepath.Base(found[i]))
	})
	return found[0], nil
}

func findBinary(name string) (string, error) {
	for _, dir := range searchDirs() {
		p := filepath.Join(dir, name)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in $PATH or %s", name, sbinDirs)
}

func searchDirs() []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	return append(dirs, filepath.SplitList(sbinDirs)...)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// versionLess orders php-fpm8.2 before php-fpm8.10 by comparing the dotted
// numbers after the name numerically.
func versionLess(a, b string) bool {
	va := strings.Split(strings.TrimPrefix(a, "php-fpm"), ".")
	vb := strings.Split(strings.TrimPrefix(b, "php-fpm"), ".")
	for i := 0; i < len(va) && i < len(vb); i++ {
		na, errA := strconv.Atoi(va[i])
		nb, errB := strconv.Atoi(vb[i])
		if errA != nil || errB != nil {
			return a < b
		}
		if na != nb {
			return na < nb
		}
	}
	return len(va) < len(vb)
}

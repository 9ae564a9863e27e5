package lnmptest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/lnmp-init/lnmp-init/nginx"
	"github.com/lnmp-init/lnmp-init/phpfpm"
)

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

// FindNginx returns the nginx binary lnmp-init itself would run.
func FindNginx() (string, error) { return nginx.FindBinary() }

// FindPHPFPM returns the php-fpm binary lnmp-init itself would run.
func FindPHPFPM() (string, error) { return phpfpm.FindBinary() }

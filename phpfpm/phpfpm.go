// Package phpfpm is what lnmp-init knows about php-fpm: where the binary and
// its configuration live, what the configuration says (pools, where they
// listen, how long a graceful stop may take), how to run php-fpm in the
// foreground, how to ask php-fpm itself whether a configuration is valid
// and which php.ini files it reads, and how to read a pool's status page.
//
// Load reads the configuration the way php-fpm's fpm_conf.c does, including
// its quirks (a line starting with '#' is an error, not a comment; the first
// env[NAME] of a pool wins), so that what lnmp-init waits for and signals is
// what php-fpm will actually do. It is not a validator: it ignores settings it
// has no use for, and Validate, which runs php-fpm -t, has the last word.
package phpfpm

import (
	"path/filepath"
	"strings"
	"time"
)

// Args returns php-fpm's arguments to run in the foreground with config as
// its configuration file. -F overrides any daemonize setting in the file, so
// the master stays lnmp-init's child and its exit is seen.
func Args(config string) []string {
	return []string{"-F", "-y", config}
}

// ExitConfig is php-fpm's exit code for a config it cannot run
// (FPM_EXIT_CONFIG, sysexits' EX_CONFIG): at a start, or when its master
// re-executes itself on SIGUSR2 with a config that fails.
const ExitConfig = 78

// StopMargin is added to process_control_timeout to bound a graceful stop:
// on SIGQUIT the master waits that long for its workers, then sends them
// SIGTERM and, a second later, SIGKILL (sapi/fpm/fpm/fpm_pctl.c).
const StopMargin = 2 * time.Second

// GracefulStop is how long a graceful stop (SIGQUIT) of php-fpm with this
// config may take.
// A negative process_control_timeout, which php-fpm accepts, counts as 0.
func (c *Config) GracefulStop() time.Duration { return max(c.ProcessControlTimeout, 0) + StopMargin }

// TestWrites lists the files `php-fpm -t` may create for this config: its
// error log (php-fpm's default when unset, under the localstatedir of
// prefix) and each pool's access and slow logs. `lnmp-init check` removes
// those that were not there before. syslog and /dev/... are left out.
func (c *Config) TestWrites(prefix string) []string {
	var paths []string
	add := func(p string) {
		if filepath.IsAbs(p) && !strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "/proc/") {
			paths = append(paths, filepath.Clean(p))
		}
	}
	switch {
	case c.ErrorLog == "" && prefix != "":
		add(filepath.Join(localStateDir(prefix), "log", "php-fpm.log"))
	case !strings.EqualFold(c.ErrorLog, "syslog"):
		add(c.ErrorLog)
	}
	for _, p := range c.Pools {
		add(p.AccessLog)
		add(p.SlowLog)
	}
	return paths
}

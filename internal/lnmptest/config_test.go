package lnmptest

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSandboxConfigsValid has php-fpm and nginx parse every config shape
// and checks the values that drain tests depend on reached php-fpm.
func TestSandboxConfigsValid(t *testing.T) {
	SkipUnlessRequirements(t)
	fpm, _ := FindPHPFPM()
	nginx, _ := FindNginx()
	for _, tc := range []struct {
		opts Options
		want []string
	}{
		{Options{}, []string{"process_control_timeout = 20s", "pm.max_children = 20", "listen = 127.0.0.1:"}},
		{Options{ProcessControlTimeout: -1}, []string{"process_control_timeout = 0s"}},
		{Options{ProcessControlTimeout: 1500 * time.Millisecond, Workers: 3, UnixSocket: true, AtomicConfig: true},
			[]string{"process_control_timeout = 2s", "pm.max_children = 3", "listen = /tmp/", "listen.mode = 0666"}},
	} {
		s := NewTestSandbox(t, tc.opts)
		out, err := exec.Command(fpm, "-tt", "-y", s.FpmConf()).CombinedOutput()
		if err != nil {
			t.Errorf("%+v: php-fpm -tt: %v\n%s", tc.opts, err, out)
		}
		for _, w := range append(tc.want, "clear_env = yes", "catch_workers_output = yes") {
			if !strings.Contains(string(out), w) {
				t.Errorf("%+v: php-fpm -tt does not show %q", tc.opts, w)
			}
		}
		if out, err := exec.Command(nginx, "-t", "-c", s.NginxConf()).CombinedOutput(); err != nil {
			t.Errorf("%+v: nginx -t: %v\n%s", tc.opts, err, out)
		}
	}
}

package phpfpm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// TestLoadAgreesWithPHPFPM runs every layout of TestLoad through the real
// php-fpm: where Load succeeds, php-fpm -tt must print the same listen
// addresses, paths, timeouts and env; where Load fails, php-fpm -t must fail
// too, unless the layout says why Load is stricter.
func TestLoadAgreesWithPHPFPM(t *testing.T) {
	bin := realBinary(t)
	for _, tt := range layouts() {
		t.Run(tt.name, func(t *testing.T) {
			_, main, prefix := tt.write(t)
			env := os.Environ()
			for k, v := range tt.env {
				env = append(env, k+"="+v)
			}
			got, err := load(main, prefix, fakeEnv(tt.env))
			if err != nil {
				cmd := exec.Command(bin, "-t", "-p", prefix, "-y", main)
				cmd.Env = env
				out, fpmErr := cmd.CombinedOutput()
				if fpmErr == nil && tt.stricter == "" {
					t.Errorf("Load failed (%v) but php-fpm -t accepts the layout:\n%s", err, out)
				}
				t.Logf("Load: %v\nphp-fpm: %q", err, errorLines(string(out)))
				return
			}
			dump := fpmDump(t, bin, main, prefix, env)
			compareDump(t, got, dump)
			// The one-file text lnmp-init keeps as the last good config
			// means the same to php-fpm, wherever it is written.
			flat := filepath.Join(t.TempDir(), "flat.conf")
			if err := os.WriteFile(flat, got.Text, 0o644); err != nil {
				t.Fatal(err)
			}
			if fd := fpmDump(t, bin, flat, prefix, env); !reflect.DeepEqual(fd, dump) {
				t.Errorf("php-fpm reads the flattened config differently:\nflat %v\norig %v\n%s", fd, dump, got.Text)
			}
		})
	}
}

// compareDump checks Load's result against php-fpm -tt's dump.
func compareDump(t *testing.T, got *Config, dump map[string]map[string]string) {
	t.Helper()
	check := func(section, key, want string) {
		t.Helper()
		if v, ok := dump[section][key]; !ok || v != want {
			t.Errorf("[%s] %s: php-fpm says %q (present: %v), Load says %q", section, key, v, ok, want)
		}
	}
	seconds := func(d interface{ Seconds() float64 }) string {
		return fmt.Sprintf("%.0fs", d.Seconds())
	}
	check("global", "process_control_timeout", seconds(got.ProcessControlTimeout))
	if len(dump)-1 != len(got.Pools) {
		t.Errorf("php-fpm has %d pools, Load %d", len(dump)-1, len(got.Pools))
	}
	for _, p := range got.Pools {
		want := p.ListenRaw
		if p.Listen.Network == "unix" {
			want = p.Listen.Address
		}
		check(p.Name, "listen", want)
		check(p.Name, "ping.path", p.PingPath)
		check(p.Name, "ping.response", p.PingResponse)
		check(p.Name, "pm.status_path", p.StatusPath)
		check(p.Name, "pm", p.PM)
		check(p.Name, "pm.max_children", strconv.Itoa(p.MaxChildren))
		check(p.Name, "request_terminate_timeout", seconds(p.RequestTerminateTimeout))
		for k, v := range p.Env {
			check(p.Name, "env["+k+"]", v)
		}
	}
}

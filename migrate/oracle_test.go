package migrate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// oracleProgram is a process as supervisord itself reads it (oracle.py).
type oracleProgram struct {
	Name         string            `json:"name"`
	Group        string            `json:"group"`
	Argv         []string          `json:"argv"`
	Directory    string            `json:"directory"`
	Environment  map[string]string `json:"environment"`
	Priority     int               `json:"priority"`
	Autostart    bool              `json:"autostart"`
	Autorestart  string            `json:"autorestart"`
	Exitcodes    []int             `json:"exitcodes"`
	Startsecs    int               `json:"startsecs"`
	Startretries int               `json:"startretries"`
	StopSignal   int               `json:"stopsignal"`
	Stopwaitsecs int               `json:"stopwaitsecs"`
	StopAsGroup  bool              `json:"stopasgroup"`
	KillAsGroup  bool              `json:"killasgroup"`
	UID          *int              `json:"uid"`
}

// supervisorPython is the Python that runs supervisord, read from its
// #! line, or "" when supervisord is not installed.
func supervisorPython(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("supervisord")
	if err != nil {
		testenv.SkipOrFail(t, "supervisord is not installed (apt-get install supervisor): it is the oracle of what a config means")
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		t.Fatalf("%s has no #! line", bin)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return fields[1]
	}
	return fields[0]
}

// oracle asks supervisord's own config reader what conf means.
func oracle(t *testing.T, conf string, env []string) (programs []oracleProgram, err error) {
	t.Helper()
	python := supervisorPython(t)
	cmd := exec.Command(python, "testdata/oracle.py", conf)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var doc struct {
		Programs []oracleProgram `json:"programs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("oracle output: %v\n%s", err, out)
	}
	return doc.Programs, nil
}

// shapeEnv is the environment the shapes' %(ENV_X)s expand from.
var shapeEnv = []string{"APP_ENV=production", "PHP_VERSION=8.2", "PHP_FPM_CONF=/etc/php/8.2/fpm/php-fpm.conf",
	"APP_DIR=/var/www/html", "APP_NAME=shop", "REVERB_PORT=8081", "PATH=/usr/bin:/bin"}

// TestLoadAgreesWithSupervisord reads every test config with Load and with
// supervisord's own reader, and compares every field of every process.
func TestLoadAgreesWithSupervisord(t *testing.T) {
	confs := []string{"testdata/basic/supervisord.conf", "testdata/laravel/supervisord.conf", "testdata/include/supervisord.conf"}
	dir := t.TempDir()
	for i, text := range trickyConfigs {
		p := filepath.Join(dir, "tricky"+strconv.Itoa(i)+".conf")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		confs = append(confs, p)
	}
	for _, conf := range confs {
		t.Run(filepath.Base(filepath.Dir(conf))+"/"+filepath.Base(conf), func(t *testing.T) {
			want, oerr := oracle(t, conf, shapeEnv)
			for _, w := range want {
				if w.Argv == nil && oerr == nil {
					// supervisord reads it, and fails when it spawns it.
					oerr = fmt.Errorf("%s: command cannot be split", w.Name)
				}
			}
			cfg, err := Load(conf, shapeEnv)
			if oerr != nil || err != nil {
				if (oerr == nil) != (err == nil) {
					t.Fatalf("supervisord: %v; Load: %v", oerr, err)
				}
				return
			}
			if len(cfg.Programs) != len(want) {
				t.Fatalf("%d programs, supervisord has %d", len(cfg.Programs), len(want))
			}
			for i, p := range cfg.Programs {
				if got := asOracle(t, cfg, p); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("program %d:\n got  %+v\n want %+v", i, got, want[i])
				}
			}
		})
	}
}

// asOracle puts p in the oracle's terms.
func asOracle(t *testing.T, cfg *Config, p Program) oracleProgram {
	env := make(map[string]string)
	for _, e := range append(append([]envPair{}, cfg.Environment...), p.Environment...) {
		env[e.name] = e.value
	}
	o := oracleProgram{Name: p.Name, Group: p.Group, Argv: p.Argv, Directory: p.Directory, Environment: env,
		Priority: p.Priority, Autostart: p.Autostart, Autorestart: p.Autorestart, Exitcodes: p.Exitcodes,
		Startsecs: p.Startsecs, Startretries: p.Startretries, StopSignal: int(p.StopSignal),
		Stopwaitsecs: p.Stopwaitsecs, StopAsGroup: p.StopAsGroup, KillAsGroup: p.KillAsGroup}
	if p.User != "" {
		u, err := user.Lookup(p.User)
		if err != nil {
			t.Fatalf("user %s: %v", p.User, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		o.UID = &uid
	}
	return o
}

// trickyConfigs are the corners of supervisord's INI dialect.
var trickyConfigs = []string{
	// Inline comments need a blank before them; configparser looks at the
	// first ';' and '#', then the second of each, and takes the first round
	// that finds one after a blank.
	`[supervisord]
[program:a]
command=php -r 'echo 1;' x#y a;b ;c #d
[program:b]
command : echo a;b #c ;d
directory=/srv ; where
`,
	// Continuation lines, blank lines inside a value, key: value, %%,
	// [DEFAULT], a section met twice, an option set twice.
	`[DEFAULT]
stopwaitsecs = 42

[supervisord]

[program:w]
command = date +%%s
  --utc

  -R
environment = A="x,y" ,B='q',
   C=a"b",D=1
priority: 7

[program:w]
priority = 8
startsecs = 0
`,
	// numprocs with numprocs_start, process_num in the command and
	// directory, %(here)s, %(group_name)s and %(numprocs)d.
	`[supervisord]
[group:g]
programs=w
[program:w]
process_name=w-%(process_num)d
numprocs=3
numprocs_start=5
command=worker --id=%(process_num)03d --of=%(numprocs)d --group=%(group_name)s --conf=%(here)s/x
directory=/srv/%(process_num)s
stopsignal=usr2
autorestart=false
exitcodes=0, 3
`,
	// Quotes and escapes as shlex splits them.
	`[supervisord]
[program:q]
command=sh -c "printf '%%s\n' \"a b\" \\\\ \$HOME" '' it\'s "x"y'z' back\ slash
stopsignal=9
`,
	// A command supervisord cannot split: both must refuse it.
	`[supervisord]
[program:bad]
command=sh -c "unterminated ;quote"
`,
	// Garbage: an option before any section.
	`command=nginx
[program:x]
`,
}

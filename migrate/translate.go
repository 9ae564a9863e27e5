package migrate

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/procfile"
)

// DefaultProcfile is where the output says to save the Procfile unless
// told otherwise.
const DefaultProcfile = "/etc/lnmp/Procfile"

// stopReserve is what lnmp-init keeps of --stop-timeout for SIGTERM and
// SIGKILL after the graceful stop.
const stopReserve = 2 * time.Second

// defaultStopTimeout is lnmp-init's --stop-timeout default.
const defaultStopTimeout = 25 * time.Second

// Result is what replaces a supervisord config.
type Result struct {
	Source *Config
	// Procfile is where the Procfile is meant to be saved.
	Procfile string
	// Programs are the Procfile's programs, in supervisord's start order;
	// Disabled are those with autostart=false, written commented out.
	Programs []procfile.Program
	Disabled []procfile.Program
	// Settings are environment variables: lnmp-init's, and the ones the
	// container needs that supervisord set.
	Settings []Setting
	// Notes say, for each setting that needs a word, what became of it.
	Notes []Note
}

// Setting is one environment variable, and where it comes from.
type Setting struct {
	Name, Value string
	Why         string
	// Optional settings are written commented out: a choice to make.
	Optional bool
}

// Note is one supervisord setting that does not map, or maps to nothing
// to set, and why.
type Note struct {
	Where string // "[program:queue] user=www-data"
	Text  string
}

// translator builds a Result.
type translator struct {
	cfg      *Config
	res      *Result
	dir      string // the Procfile's directory
	names    map[string]bool
	main     map[string]*Program // "nginx", "php-fpm"
	retries  []int
	stopNeed time.Duration
}

// Translate turns a supervisord config into a Procfile, settings and
// notes. procfilePath is where the Procfile will be; empty means
// DefaultProcfile.
func Translate(cfg *Config, procfilePath string) *Result {
	if procfilePath == "" {
		procfilePath = DefaultProcfile
	}
	t := &translator{cfg: cfg, res: &Result{Source: cfg, Procfile: procfilePath},
		dir: filepath.Dir(procfilePath), names: make(map[string]bool), main: make(map[string]*Program)}
	for i := range cfg.Programs {
		p := &cfg.Programs[i]
		if k := kind(p.Argv); k != "" && t.main[k] == nil {
			t.main[k] = p
			t.mainChild(p, k)
			continue
		}
		t.program(p)
	}
	t.order()
	t.supervisordSection()
	t.otherSections()
	t.globals()
	return t.res
}

// note adds a note, once: the processes of one section share theirs.
func (t *translator) note(where, format string, args ...any) {
	n := Note{Where: where, Text: fmt.Sprintf(format, args...)}
	if !slices.Contains(t.res.Notes, n) {
		t.res.Notes = append(t.res.Notes, n)
	}
}

func (t *translator) set(name, value, why string) {
	for i, s := range t.res.Settings {
		if s.Name == name {
			t.res.Settings[i].Value, t.res.Settings[i].Why = value, why
			return
		}
	}
	t.res.Settings = append(t.res.Settings, Setting{Name: name, Value: value, Why: why})
}

// program turns one supervisord process into a Procfile program.
func (t *translator) program(p *Program) {
	where := "[" + p.Section + "]"
	pp := procfile.Program{Name: t.name(p), StopSignal: unix.SIGTERM, Dir: p.Directory}
	text := procfileCommand(p.Argv)
	c, err := procfile.ParseCommand(text)
	if err != nil || unfit(text) {
		t.note(where+" command", "does not map: a command over several lines, or with control characters, does not fit on a Procfile line; put it in a script and run that")
		return
	}
	pp.Command = c
	if unfit(pp.Dir) {
		t.note(where+" directory", "does not map: control characters do not fit on a Procfile line")
		return
	}
	if pp.Dir == "" {
		pp.Dir = t.dir
		t.note(where, "supervisord started %s in its own working directory; lnmp-init starts it in the Procfile's directory, %s: add dir= above it if that is not the same", pp.Name, t.dir)
	} else if !filepath.IsAbs(pp.Dir) {
		t.note(where+" directory="+p.Directory, "is relative to supervisord's working directory; in the Procfile it is relative to the Procfile's: check it")
	}
	for _, e := range p.Environment {
		if unfit(e.value) {
			t.note(where+" environment "+e.name, "does not map: a value over several lines, or with control characters, does not fit on a Procfile line; set it in the container's environment")
			continue
		}
		pp.Env = append(pp.Env, e.name+"="+e.value)
	}
	if _, err := procfile.ParseSignal(unix.SignalName(p.StopSignal)); err == nil {
		pp.StopSignal = p.StopSignal
	} else {
		t.note(where+" stopsignal="+p.Values["stopsignal"], "does not map: not a stop signal lnmp-init sends (%v); SIGTERM is used", err)
	}
	if _, set := p.Values["stopwaitsecs"]; set {
		pp.StopTimeout = time.Duration(p.Stopwaitsecs) * time.Second
		t.stopNeed = max(t.stopNeed, pp.StopTimeout+stopReserve)
	}
	pp.OnCrash, pp.OnExit0 = t.actions(p, where)
	t.programNotes(p, where)
	if b := filepath.Base(mainArgv(p.Argv)[0]); b == "cron" || b == "crond" {
		t.note(where+" command", "cron needs root to run jobs as their crontab's users, and its jobs' output goes to mail, not to the container; for Laravel, a program running php artisan schedule:work replaces it")
	}
	if !p.Autostart {
		t.res.Disabled = append(t.res.Disabled, pp)
		t.note(where+" autostart=false", "not started: the program is in the Procfile as a comment; remove the '#' to run it")
		return
	}
	t.res.Programs = append(t.res.Programs, pp)
}

// unfit reports whether s holds what no Procfile line may: a control
// character other than tab.
func unfit(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) >= 0
}

// invalidName matches what a Procfile name may not hold.
var invalidName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// name is p's Procfile name: its process name with what a Procfile name
// cannot hold replaced, and made unique.
func (t *translator) name(p *Program) string {
	name := strings.Trim(invalidName.ReplaceAllString(p.Name, "-"), "-")
	if name == "" {
		name = "program"
	}
	base := name
	for n := 2; t.names[strings.ToLower(name)] || procfile.Reserved(name); n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	t.names[strings.ToLower(name)] = true
	if name != p.Name {
		t.note("["+p.Section+"]", "the program is called %s in the Procfile: %q is not a Procfile name (letters, digits, _ and -, unique, not nginx or php-fpm)", name, p.Name)
	}
	return name
}

// actions maps autorestart and exitcodes to on-crash and on-exit-0.
func (t *translator) actions(p *Program, where string) (onCrash, onExit0 procfile.Action) {
	expected := func(code int) bool { return slices.Contains(p.Exitcodes, code) }
	switch p.Autorestart {
	case "true":
		return procfile.Restart, procfile.Restart
	case "false":
		t.note(where+" autorestart=false", "supervisord leaves a program that ended stopped while the rest runs; lnmp-init leaves it stopped after an exit 0 (on-exit-0=ignore), but a crash ends the container (on-crash=exit), so that the orchestrator sees it. A one-shot task belongs in LNMP_PRE_START")
		return procfile.Exit, procfile.Ignore
	}
	for _, c := range p.Exitcodes {
		if c != 0 {
			t.note(fmt.Sprintf("%s exitcodes=%s", where, p.Values["exitcodes"]), "does not map: lnmp-init tells only exit 0 from a crash; exit %d is a crash and is restarted", c)
		}
	}
	if expected(0) {
		return procfile.Restart, procfile.Ignore
	}
	return procfile.Restart, procfile.Restart
}

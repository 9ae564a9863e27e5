package migrate

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Program is one process of a [program:x] section, expanded as supervisord
// expands it. Values not set in the config hold supervisord's defaults.
type Program struct {
	Name    string // the process name (process_name, numprocs expanded)
	Section string // "program:x"
	Group   string
	File    string // where the section is
	// Command is expanded; Argv is it split as supervisord splits it. An
	// unset %(ENV_X)s is left in both as envMark X envMark.
	Command string
	Argv    []string
	// Directory is empty when not set: supervisord's own directory.
	Directory    string
	Environment  []envPair
	Priority     int
	Autostart    bool
	Autorestart  string // "true", "false" or "unexpected"
	Exitcodes    []int
	Startsecs    int
	Startretries int
	StopSignal   unix.Signal
	Stopwaitsecs int
	StopAsGroup  bool
	KillAsGroup  bool
	User         string
	Numprocs     int
	// Keys are the keys the section sets, in order.
	Keys []string
	// Values are the keys' raw values.
	Values map[string]string
}

// group is a [group:x], or a program on its own, with its processes.
type group struct {
	name     string
	priority int
	procs    []Program
}

// programs reads every program section, in supervisord's start order:
// groups by priority and name, and within each its processes likewise.
func (ld *loader) programs() error {
	groups, inGroup, err := ld.groups()
	if err != nil {
		return err
	}
	for _, name := range ld.in.order {
		p, ok := strings.CutPrefix(name, "program:")
		if !ok || inGroup[name] {
			continue
		}
		procs, err := ld.processes(ld.in.sections[name], p)
		if err != nil {
			return err
		}
		prio := 999
		if len(procs) > 0 {
			prio = procs[0].Priority
		}
		groups = append(groups, group{name: p, priority: prio, procs: procs})
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].priority != groups[j].priority {
			return groups[i].priority < groups[j].priority
		}
		return groups[i].name < groups[j].name
	})
	for _, g := range groups {
		sort.SliceStable(g.procs, func(i, j int) bool {
			if g.procs[i].Priority != g.procs[j].Priority {
				return g.procs[i].Priority < g.procs[j].Priority
			}
			return g.procs[i].Name < g.procs[j].Name
		})
		ld.cfg.Programs = append(ld.cfg.Programs, g.procs...)
	}
	return nil
}

// groups reads the [group:x] sections, and which program sections they
// take.
func (ld *loader) groups() (groups []group, inGroup map[string]bool, err error) {
	inGroup = make(map[string]bool)
	for _, name := range ld.in.order {
		g, ok := strings.CutPrefix(name, "group:")
		if !ok {
			continue
		}
		r := ld.reader(ld.in.sections[name], expansions{})
		grp := group{name: g}
		if grp.priority, err = r.integer("priority", 999); err != nil {
			return nil, nil, err
		}
		list, _, err := r.str("programs", "")
		if err != nil {
			return nil, nil, err
		}
		for _, p := range strings.Split(list, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			s := ld.in.section("program:" + p)
			if s == nil {
				return nil, nil, &ParseError{File: ld.in.sections[name].file, Msg: fmt.Sprintf("[%s] names unknown program %s", name, p)}
			}
			inGroup[s.name] = true
			procs, err := ld.processes(s, g)
			if err != nil {
				return nil, nil, err
			}
			grp.procs = append(grp.procs, procs...)
		}
		groups = append(groups, grp)
	}
	return groups, inGroup, nil
}

// processes expands one program section into its numprocs processes.
func (ld *loader) processes(s *section, group string) ([]Program, error) {
	name := strings.TrimPrefix(s.name, "program:")
	host, _ := os.Hostname()
	common := expansions{"program_name": name, "group_name": group, "host_node_name": host}
	r := ld.reader(s, common)
	base := Program{Section: s.name, Group: group, File: s.file, Keys: s.order, Values: make(map[string]string)}
	for k, v := range s.opts {
		base.Values[k] = v.text
	}
	if err := r.settings(&base); err != nil {
		return nil, err
	}
	start, err := r.integer("numprocs_start", 0)
	if err != nil {
		return nil, err
	}
	var out []Program
	for num := start; num < start+base.Numprocs; num++ {
		p := base
		ex := make(expansions)
		for k, v := range common {
			ex[k] = v
		}
		ex["process_num"], ex["numprocs"] = num, base.Numprocs
		if err := r.process(&p, ex); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// settings reads the options that do not depend on the process number.
func (r *reader) settings(p *Program) error {
	var err error
	ints := []struct {
		key string
		def int
		dst *int
	}{{"priority", 999, &p.Priority}, {"startsecs", 1, &p.Startsecs}, {"startretries", 3, &p.Startretries},
		{"stopwaitsecs", 10, &p.Stopwaitsecs}, {"numprocs", 1, &p.Numprocs}}
	for _, n := range ints {
		if *n.dst, err = r.integer(n.key, n.def); err != nil {
			return err
		}
	}
	if p.Autostart, err = r.boolean("autostart", true); err != nil {
		return err
	}
	if p.StopAsGroup, err = r.boolean("stopasgroup", false); err != nil {
		return err
	}
	if p.KillAsGroup, err = r.boolean("killasgroup", p.StopAsGroup); err != nil {
		return err
	}
	if p.Autorestart, err = r.autorestart(); err != nil {
		return err
	}
	if p.StopSignal, err = r.signal("stopsignal", "TERM"); err != nil {
		return err
	}
	if p.Exitcodes, err = r.exitcodes(); err != nil {
		return err
	}
	p.User, _, err = r.str("user", "")
	return err
}

// process reads the options that may use %(process_num)s.
func (r *reader) process(p *Program, ex expansions) error {
	for k, v := range ex {
		r.ex[k] = v
	}
	if v := r.ld.in.lookup(r.s, "environment"); v != nil {
		text, err := r.ld.expand(v, r.ex, r.where("environment"), false)
		if err != nil {
			return err
		}
		if p.Environment, err = parseEnvironment(text); err != nil {
			return r.fail("environment", err)
		}
		for _, e := range p.Environment {
			r.ex["ENV_"+e.name] = e.value
		}
	}
	var err error
	if p.Directory, _, err = r.str("directory", ""); err != nil {
		return err
	}
	cmd := r.ld.in.lookup(r.s, "command")
	if cmd == nil {
		return &ParseError{File: r.s.file, Msg: fmt.Sprintf("[%s] has no command", r.s.name)}
	}
	if p.Command, err = r.ld.expand(cmd, r.ex, r.where("command"), true); err != nil {
		return err
	}
	if p.Argv, err = splitCommand(p.Command); err != nil {
		return r.fail("command", err)
	}
	if len(p.Argv) == 0 {
		return r.fail("command", fmt.Errorf("empty"))
	}
	pname := "%(program_name)s"
	if v := r.ld.in.lookup(r.s, "process_name"); v != nil {
		pname = v.text
	}
	if p.Numprocs > 1 && !strings.Contains(pname, "%(process_num)") {
		return r.fail("process_name", fmt.Errorf("must hold %%(process_num) when numprocs > 1"))
	}
	if p.Name, err = r.ld.expand(&value{text: pname, file: r.s.file}, r.ex, r.where("process_name"), false); err != nil {
		return err
	}
	p.Name = strings.TrimSpace(p.Name)
	return nil
}

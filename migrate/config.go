package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config is a supervisord configuration as supervisord reads it.
type Config struct {
	// File is the main config; Files are it and every included file, in
	// the order read.
	File  string
	Files []string
	// Programs are every process supervisord would run, numprocs expanded,
	// in its start order: by priority, then name.
	Programs []Program
	// Sections are the other sections (supervisord, unix_http_server,
	// eventlistener:x, ...) with the keys they set.
	Sections []Section
	// Environment is [supervisord] environment=, which every program gets.
	Environment []envPair
	// Warnings are what supervisord would warn about, e.g. an include
	// pattern that matches nothing.
	Warnings []string
	// MissingEnv are the variables a command's %(ENV_X)s named but the
	// environment lacked; those commands refer to them as ${X}.
	MissingEnv []string
}

// Section is a section that holds no program, and the keys it sets.
type Section struct {
	Name string
	Keys []string
	// Values are the keys' values, unexpanded.
	Values map[string]string
}

// Load reads a supervisord config and its [include] files as supervisord
// does, expanding %(ENV_X)s from env (KEY=value entries, like os.Environ).
func Load(path string, env []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	in := newINI()
	if err := in.read(abs, data); err != nil {
		return nil, err
	}
	ld := &loader{in: in, cfg: &Config{File: abs, Files: []string{abs}}, environ: environExpansions(env)}
	if err := ld.includes(); err != nil {
		return nil, err
	}
	if err := ld.supervisordEnvironment(); err != nil {
		return nil, err
	}
	if err := ld.programs(); err != nil {
		return nil, err
	}
	ld.otherSections()
	if len(ld.cfg.Programs) == 0 && in.section("supervisord") == nil {
		return nil, &ParseError{File: abs, Msg: "no [supervisord] and no [program:x] section: not a supervisord config"}
	}
	sort.Strings(ld.cfg.MissingEnv)
	return ld.cfg, nil
}

// loader carries what reading a config needs.
type loader struct {
	in      *ini
	cfg     *Config
	environ expansions // ENV_X of the environment and of [supervisord] environment=
	missing map[string]bool
}

func environExpansions(env []string) expansions {
	ex := make(expansions)
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			ex["ENV_"+k] = v
		}
	}
	return ex
}

// includes reads the files [include] files= names: globs relative to the
// main file's directory, each sorted, one level deep as supervisord does
// (an included file's own [include] is not followed).
func (ld *loader) includes() error {
	s := ld.in.section("include")
	if s == nil {
		return nil
	}
	v := s.get("files")
	if v == nil {
		return &ParseError{File: ld.cfg.File, Msg: "[include] has no files= setting"}
	}
	base := filepath.Dir(ld.cfg.File)
	files, err := ld.expand(v, nil, "include.files", false)
	if err != nil {
		return err
	}
	for _, pattern := range strings.Fields(files) {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(base, pattern)
		}
		matches, err := glob(pattern)
		if err != nil {
			return fmt.Errorf("[include] files: %w", err)
		}
		if len(matches) == 0 {
			ld.cfg.Warnings = append(ld.cfg.Warnings, fmt.Sprintf("[include] %s matches no file", pattern))
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				return fmt.Errorf("read included %s: %w", m, err)
			}
			if err := ld.in.read(m, data); err != nil {
				return err
			}
			ld.cfg.Files = append(ld.cfg.Files, m)
		}
	}
	return nil
}

// glob is Python's glob.glob, sorted: '*' and '?' do not match a leading
// dot unless the pattern's name starts with one.
func glob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if strings.HasPrefix(filepath.Base(m), ".") && !strings.HasPrefix(filepath.Base(pattern), ".") {
			continue
		}
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out, nil
}

// supervisordEnvironment adds [supervisord] environment= to the ENV_
// expansions, as supervisord does before it reads the programs.
func (ld *loader) supervisordEnvironment() error {
	s := ld.in.section("supervisord")
	if s == nil {
		return nil
	}
	v := s.get("environment")
	if v == nil {
		return nil
	}
	text, err := ld.expand(v, nil, "supervisord.environment", false)
	if err != nil {
		return err
	}
	pairs, err := parseEnvironment(text)
	if err != nil {
		return fmt.Errorf("[supervisord] environment: %w", err)
	}
	for _, p := range pairs {
		ld.environ["ENV_"+p.name] = p.value
	}
	ld.cfg.Environment = pairs
	return nil
}

// expand expands one value with the environment, %(here)s and extra.
// With inCommand, an unset ENV_X becomes a marker that the command's
// translation turns into ${X}; elsewhere it is an error.
func (ld *loader) expand(v *value, extra expansions, where string, inCommand bool) (string, error) {
	ex := make(expansions, len(ld.environ)+len(extra)+1)
	for k, x := range ld.environ {
		ex[k] = x
	}
	for k, x := range extra {
		ex[k] = x
	}
	ex["here"] = v.here()
	var missing func(string) string
	if inCommand {
		missing = func(name string) string {
			if ld.missing == nil {
				ld.missing = make(map[string]bool)
			}
			if !ld.missing[name] {
				ld.missing[name] = true
				ld.cfg.MissingEnv = append(ld.cfg.MissingEnv, name)
			}
			return envMark + name + envMark
		}
	}
	out, err := expand(v.text, ex, where, missing)
	if err != nil {
		return "", &ParseError{File: v.file, Line: v.line, Msg: err.Error() + unsetHint(err)}
	}
	return out, nil
}

// envMark brackets an unset variable's name in an expanded command. No
// config holds it: the files are checked to hold no NUL.
const envMark = "\x00"

func unsetHint(err error) string {
	if strings.Contains(err.Error(), "%(ENV_") {
		return " (set the variable when running migrate, as supervisord would have it)"
	}
	return ""
}

// otherSections lists the sections that hold no program.
func (ld *loader) otherSections() {
	for _, name := range ld.in.order {
		if strings.HasPrefix(name, "program:") {
			continue
		}
		s := ld.in.sections[name]
		vals := make(map[string]string, len(s.opts))
		for k, v := range s.opts {
			vals[k] = v.text
		}
		ld.cfg.Sections = append(ld.cfg.Sections, Section{Name: name, Keys: s.order, Values: vals})
	}
}

package phpfpm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lnmp-init/lnmp-init/configfile"
	"github.com/lnmp-init/lnmp-init/listen"
)

// maxIncludeDepth is php-fpm's own limit: the main file and four levels of
// includes below it ("failed to include more than 5 files recursively").
const maxIncludeDepth = 4

// Config is what lnmp-init needs from a php-fpm configuration.
type Config struct {
	Path     string   // The main file as given to Load.
	Files    []string // Every file read, absolute, the main file first, each once.
	Includes []string // Every include= pattern, absolute, for watching the directories they name.

	// ProcessControlTimeout is how long the master waits for workers after
	// SIGQUIT before it kills them; 0 (php-fpm's default) means at once.
	ProcessControlTimeout time.Duration

	// PidFile and ErrorLog are the global pid and error_log settings;
	// empty when unset. Relative paths are made absolute as php-fpm does
	// without -p, against its localstatedir: /var for the prefix /usr (as
	// Debian's build says), autoconf's PREFIX/var for any other prefix.
	// php-fpm's default error_log is log/php-fpm.log there. "syslog" is
	// kept as is.
	PidFile, ErrorLog string

	Pools []Pool

	// Text is the whole config as php-fpm reads it, in one file: every
	// line of every file in reading order, each include= line replaced by
	// the files it names. php-fpm keeps its current section across
	// included files and resolves relative paths against its prefix, not
	// the file's directory, so this text means what the files mean.
	Text []byte
}

// Pool is one [name] section of the configuration.
type Pool struct {
	Name string // As first written; php-fpm matches section names case-insensitively.

	// Listen is where to connect: a wildcard or missing host means
	// loopback ("9000" and "0.0.0.0:9000" give tcp 127.0.0.1:9000,
	// "[::]:9000" gives [::1]:9000), and a relative socket path is
	// resolved against the pool's prefix setting or the install prefix.
	Listen    listen.Addr
	ListenRaw string // listen as written, after $pool substitution.

	PingPath     string // ping.path; empty when unset.
	PingResponse string // ping.response; "pong" when PingPath is set and this is not; empty without PingPath.
	StatusPath   string // pm.status_path; empty when unset.

	// StatusListen is pm.status_listen, an extra socket php-fpm serves
	// StatusPath on; the zero Addr when unset.
	StatusListen listen.Addr

	RequestTerminateTimeout time.Duration // 0 when unset: requests are never cut.

	// AccessLog and SlowLog are access.log and slowlog, absolute; empty
	// when unset. php-fpm -t creates them.
	AccessLog, SlowLog string
	// PM is the process manager, pm: "static", "dynamic" or "ondemand".
	// MaxChildren is pm.max_children: the most workers the pool runs. Both
	// only describe the pool, for metrics: they are "" and 0 when unset or
	// invalid, which php-fpm refuses, in its own words, at start or in
	// Validate.
	PM          string
	MaxChildren int

	// Where is the file and line of the pool's first section header, for
	// messages that tell where to add a setting.
	Where string

	// Env is what env[NAME] = value lines give the workers. As in php-fpm,
	// the first line for a name wins, and a value starting with '$' is
	// replaced by that variable of php-fpm's own environment.
	Env map[string]string
}

// position names a line of a configuration file for error messages.
type position struct {
	file string
	line int
}

func (p position) String() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// lineError is an error found at a line. An include passes the errors of
// the files it includes up unchanged, so the message names the innermost
// line, where the problem is.
type lineError struct {
	pos position
	err error
}

func (e *lineError) Error() string { return e.pos.String() + ": " + e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// poolState is a pool being read, with what Load needs beyond Pool.
type poolState struct {
	Pool
	opened          position            // Where its section first appeared.
	at              map[string]position // Where each setting Load checks was last set.
	pingResponseSet bool
	prefix          string // The pool's prefix setting.
	statusListenRaw string
}

// loader reads a main file and its includes. Like php-fpm, it keeps one
// current section across files: an included file without a section header
// adds to whatever section included it.
type loader struct {
	prefix  string
	lookup  lookupFunc
	cfg     *Config
	byName  map[string]*poolState // Keyed by lower-cased name.
	pools   []*poolState          // In order of first appearance.
	current *poolState            // nil in [global].
	read    map[string]bool
	text    bytes.Buffer // Config.Text so far
}

// Load reads php-fpm's configuration from path the way php-fpm does: INI
// syntax with [global] and [pool] sections and ';' comments ('#' starts no
// comment: php-fpm rejects such a line); include= globs followed in order
// wherever they appear, relative ones resolved against prefix (php-fpm's
// install prefix, see Prefix; it may be empty when no path is relative);
// $pool replaced by the pool's name in pool values; ${VAR} and PHP 8.3's
// ${VAR:-default} replaced from the environment (PHP would try a php.ini
// setting of that name first); time values in seconds by default or with
// an s, m, h or d suffix. A pool section may be opened several times, in
// several files. Load fails, naming the file and line, on a pool without
// listen, an include pattern that cannot be expanded, a file that cannot be
// read, two pools on one address, and values php-fpm would reject in the
// settings it returns.
func Load(path, prefix string) (*Config, error) {
	return load(path, prefix, os.LookupEnv)
}

func load(path, prefix string, lookup lookupFunc) (*Config, error) {
	l := &loader{
		prefix: prefix,
		lookup: lookup,
		cfg:    &Config{Path: path},
		byName: make(map[string]*poolState),
		read:   make(map[string]bool),
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("php-fpm config %s: %w", path, err)
	}
	if err := l.loadFile(abs, 0); err != nil {
		return nil, err
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	l.cfg.Text = l.text.Bytes()
	return l.cfg, nil
}

// loadFile reads one file, line by line as php-fpm does.
func (l *loader) loadFile(file string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested more than %d files deep (php-fpm's limit)", file, maxIncludeDepth+1)
	}
	data, err := configfile.Read(file)
	if err != nil {
		return fmt.Errorf("reading php-fpm config: %w", err) // The include line adds its position.
	}
	fmt.Fprintf(&l.text, "; lnmp-init: %s\n", file)
	if !l.read[file] {
		l.read[file] = true
		l.cfg.Files = append(l.cfg.Files, file)
	}
	for i, text := range strings.Split(string(data), "\n") {
		pos := position{file, i + 1}
		ln, err := parseLine(strings.TrimSuffix(text, "\r"), l.lookup)
		if err == nil {
			if ln.kind != lineEntry || ln.array || ln.name != "include" {
				l.text.WriteString(text + "\n")
			}
			err = l.apply(ln, pos, depth)
		}
		var inner *lineError
		switch {
		case errors.As(err, &inner):
			return err // From an included file, and already naming its line.
		case err != nil:
			return &lineError{pos, err}
		}
	}
	return nil
}

// apply gives one parsed line its meaning.
func (l *loader) apply(ln line, pos position, depth int) error {
	switch {
	case ln.kind == lineBlank:
		return nil
	case ln.kind == lineSection:
		l.openSection(ln.name, pos)
		return nil
	case ln.array:
		return l.setArray(ln)
	case ln.name == "include": // Case-sensitive in php-fpm, unlike other keys.
		return l.include(ln.value, depth)
	case l.current == nil:
		return l.setGlobal(strings.ToLower(ln.name), ln.value)
	default:
		return l.setPool(l.current, strings.ToLower(ln.name), ln.value, pos)
	}
}

// openSection switches to [global] or to a pool, creating the pool the
// first time its name (in any letter case) appears.
func (l *loader) openSection(name string, pos position) {
	if strings.EqualFold(name, "global") {
		l.current = nil
		return
	}
	key := strings.ToLower(name)
	p, ok := l.byName[key]
	if !ok {
		p = &poolState{Pool: Pool{Name: name, Env: map[string]string{}}, opened: pos, at: map[string]position{}}
		l.byName[key] = p
		l.pools = append(l.pools, p)
	}
	l.current = p
}

// include reads every file pattern matches, in order, before the next line.
func (l *loader) include(pattern string, depth int) error {
	if pattern == "" {
		return nil // php-fpm warns that nothing matches and goes on.
	}
	if !filepath.IsAbs(pattern) {
		if l.prefix == "" {
			return fmt.Errorf("include %q is relative, and no php-fpm prefix was given to resolve it against", pattern)
		}
		pattern = filepath.Join(l.prefix, pattern)
	}
	l.cfg.Includes = append(l.cfg.Includes, pattern)
	files, err := globFiles(pattern)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := l.loadFile(f, depth+1); err != nil {
			return err
		}
	}
	return nil
}

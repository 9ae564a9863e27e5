package phpfpm

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// poolToken is what php-fpm replaces with the pool's name in pool values.
const poolToken = "$pool"

// setGlobal records a [global] setting Load reports; others are ignored.
func (l *loader) setGlobal(key, value string) error {
	if strings.Contains(value, poolToken) {
		return fmt.Errorf("%s: %s cannot be used outside a pool section (php-fpm: \"Can't use '$pool' when the pool is not defined\")", key, poolToken)
	}
	switch key {
	case "process_control_timeout":
		d, err := parseTime(value)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		l.cfg.ProcessControlTimeout = d
	case "pid":
		l.cfg.PidFile = value
	case "error_log":
		l.cfg.ErrorLog = value
	case "daemonize":
		// Checked only: lnmp-init runs php-fpm with -F, which overrides it.
		if _, err := parseBool(value); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// setPool records a pool setting Load reports; others are ignored. As in
// php-fpm, a later line replaces an earlier one.
func (l *loader) setPool(p *poolState, key, value string, pos position) error {
	value = strings.ReplaceAll(value, poolToken, p.Name)
	p.at[key] = pos
	switch key {
	case "listen":
		p.ListenRaw = value
	case "ping.path":
		p.PingPath = value
	case "ping.response":
		p.PingResponse, p.pingResponseSet = value, true
	case "pm.status_path":
		p.StatusPath = value
	case "pm.status_listen":
		p.statusListenRaw = value
	case "pm":
		p.PM = parsePM(value)
	case "pm.max_children":
		p.MaxChildren, _ = parseInt(value) // 0 when invalid, see Pool
	case "prefix":
		p.prefix = value
	case "access.log":
		p.AccessLog = value
	case "slowlog":
		p.SlowLog = value
	case "request_terminate_timeout":
		d, err := parseTime(value)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		p.RequestTerminateTimeout = d
	}
	return nil
}

// setArray records env[NAME] = value; other arrays (php_value and the like)
// are ignored.
func (l *loader) setArray(ln line) error {
	if l.current == nil {
		return fmt.Errorf("%s[%s]: arrays are not allowed in [global]", ln.name, ln.index)
	}
	if ln.name != "env" { // Case-sensitive in php-fpm.
		return nil
	}
	if ln.index == "" {
		return errors.New("env[] needs a variable name in the brackets")
	}
	if ln.value == "" {
		return fmt.Errorf("env[%s]: empty value (php-fpm rejects it)", ln.index)
	}
	if _, ok := l.current.Env[ln.index]; ok {
		// php-fpm keeps every line but applies the newest first, so the
		// first one is what the worker sees (measured with getenv()).
		return nil
	}
	value := strings.ReplaceAll(ln.value, poolToken, l.current.Name)
	if name, ok := strings.CutPrefix(value, "$"); ok {
		// fpm_env.c: a value starting with '$' names a variable of the
		// master's environment, set or not.
		value, _ = l.lookup(name)
	}
	l.current.Env[ln.index] = value
	return nil
}

// finish checks and completes what all the files said.
func (l *loader) finish() error {
	if len(l.pools) == 0 {
		return fmt.Errorf("%s: no pool section; php-fpm needs at least one [name] with a listen address", l.cfg.Path)
	}
	l.cfg.PidFile = l.stateFile(l.cfg.PidFile)
	if !strings.EqualFold(l.cfg.ErrorLog, "syslog") {
		l.cfg.ErrorLog = l.stateFile(l.cfg.ErrorLog)
	}
	owner := make(map[string]string)
	for _, p := range l.pools {
		if err := l.finishPool(p); err != nil {
			return err
		}
		if other, ok := owner[p.Listen.String()]; ok {
			return fmt.Errorf("%s: pools [%s] and [%s] both listen on %s", p.where("listen"), other, p.Name, p.Listen)
		}
		owner[p.Listen.String()] = p.Name
		l.cfg.Pools = append(l.cfg.Pools, p.Pool)
	}
	return nil
}

// stateFile makes a relative pid or error_log path absolute as php-fpm does
// when run without -p: against its localstatedir.
func (l *loader) stateFile(path string) string {
	if path == "" || filepath.IsAbs(path) || l.prefix == "" {
		return path
	}
	return filepath.Join(localStateDir(l.prefix), path)
}

// localStateDir is autoconf's default localstatedir, PREFIX/var, except
// that distributions installing under /usr configure /var.
func localStateDir(prefix string) string {
	if filepath.Clean(prefix) == "/usr" {
		return "/var"
	}
	return filepath.Join(prefix, "var")
}

// finishPool resolves a pool's addresses and applies php-fpm's defaults and
// checks to the paths Load reports.
func (l *loader) finishPool(p *poolState) error {
	if p.ListenRaw == "" {
		return fmt.Errorf("%s: pool [%s] has no listen address (php-fpm: \"no listen address have been defined\")", p.opened, p.Name)
	}
	prefix := l.prefix
	if p.prefix != "" {
		prefix = l.resolve(p.prefix)
	}
	for _, f := range []*string{&p.AccessLog, &p.SlowLog} {
		if *f != "" && !filepath.IsAbs(*f) && prefix != "" {
			*f = filepath.Join(prefix, *f)
		}
	}
	var err error
	if p.Listen, err = parseListen(p.ListenRaw, prefix); err != nil {
		return fmt.Errorf("%s: pool [%s]: listen: %w", p.where("listen"), p.Name, err)
	}
	statusMin := 2
	if p.statusListenRaw != "" {
		if p.StatusListen, err = parseListen(p.statusListenRaw, prefix); err != nil {
			return fmt.Errorf("%s: pool [%s]: pm.status_listen: %w", p.where("pm.status_listen"), p.Name, err)
		}
		statusMin = 1 // A status listener may serve "/".
	}
	p.Where = p.opened.String()
	if err := checkURIPath(p.StatusPath, statusMin); err != nil {
		return fmt.Errorf("%s: pool [%s]: pm.status_path: %w", p.where("pm.status_path"), p.Name, err)
	}
	if p.PingPath == "" {
		p.PingResponse = "" // php-fpm drops a response without a path.
		return nil
	}
	if err := checkURIPath(p.PingPath, 2); err != nil {
		return fmt.Errorf("%s: pool [%s]: ping.path: %w", p.where("ping.path"), p.Name, err)
	}
	if !p.pingResponseSet {
		p.PingResponse = "pong"
	} else if p.PingResponse == "" {
		return fmt.Errorf("%s: pool [%s]: ping.response is empty (php-fpm rejects it)", p.where("ping.response"), p.Name)
	}
	return nil
}

// where names the line that last set key, or the pool's first section
// header when none did.
func (p *poolState) where(key string) position {
	if pos, ok := p.at[key]; ok {
		return pos
	}
	return p.opened
}

// resolve makes path absolute against the install prefix.
func (l *loader) resolve(path string) string {
	if filepath.IsAbs(path) || l.prefix == "" {
		return path
	}
	return filepath.Join(l.prefix, path)
}

// checkURIPath applies php-fpm's rules for ping.path and pm.status_path to a
// set value: a leading '/', at least minLen bytes, and only letters, digits
// and "/-_.~".
func checkURIPath(path string, minLen int) error {
	if path == "" {
		return nil
	}
	if path[0] != '/' || len(path) < minLen {
		return fmt.Errorf("%q must start with '/' and be at least %d characters long", path, minLen)
	}
	for _, c := range path {
		if !isAlnum(c) && !strings.ContainsRune("/-_.~", c) {
			return fmt.Errorf("%q may only contain letters, digits and /-_.~", path)
		}
	}
	return nil
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parsePM reads the process manager as fpm_conf_set_pm does, in any
// letter case; "" for a value php-fpm rejects.
func parsePM(value string) string {
	switch pm := strings.ToLower(value); pm {
	case "static", "dynamic", "ondemand":
		return pm
	}
	return ""
}

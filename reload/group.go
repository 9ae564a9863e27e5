package reload

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Group is a set of paths whose change means one thing to reload, e.g.
// "nginx" (its main file and include globs) or "php-fpm".
type Group struct {
	// Name identifies the group in a Change.
	Name string
	// Paths are absolute files, directories, or glob patterns such as
	// nginx's "conf.d/*.conf" or php-fpm's "pool.d/*.conf". A wildcard may
	// appear in the last element only. A path need not exist yet.
	Paths []string
}

// group is a Group with its paths parsed.
type group struct {
	name    string
	targets []target
}

// target is one of a group's paths, resolved into the directory whose
// entries it covers and the rule for which of their names it covers.
type target struct {
	path string // as given, cleaned
	dir  string // the directory holding the covered names
	glob string // pattern for names in dir; empty for a plain path
	name string // the last element of a plain path
}

// kubeDataLink is the symlink the kubelet's AtomicWriter renames over in
// one step to publish a new version of a ConfigMap volume. An event on it
// concerns every name in its directory, although it names none of them.
const kubeDataLink = "..data"

func parseGroups(groups []Group) ([]group, error) {
	if len(groups) == 0 {
		return nil, errors.New("reload: no config groups to watch")
	}
	seen := make(map[string]bool)
	parsed := make([]group, 0, len(groups))
	for _, g := range groups {
		switch {
		case g.Name == "":
			return nil, fmt.Errorf("reload: a config group has no name (paths %q)", g.Paths)
		case seen[g.Name]:
			return nil, fmt.Errorf("reload: config group %q is given twice", g.Name)
		case len(g.Paths) == 0:
			return nil, fmt.Errorf("reload: config group %q has no paths", g.Name)
		}
		seen[g.Name] = true
		pg := group{name: g.Name}
		for _, p := range g.Paths {
			t, err := parseTarget(p)
			if err != nil {
				return nil, fmt.Errorf("reload: config group %q: %w", g.Name, err)
			}
			pg.targets = append(pg.targets, t)
		}
		parsed = append(parsed, pg)
	}
	return parsed, nil
}

func parseTarget(p string) (target, error) {
	if !filepath.IsAbs(p) {
		return target{}, fmt.Errorf("path %q: must be absolute", p)
	}
	p = filepath.Clean(p)
	if p == "/" {
		return target{}, fmt.Errorf("path %q: the root directory cannot be a config path", p)
	}
	dir, base := filepath.Dir(p), filepath.Base(p)
	// A wildcard in a directory would need a watch on every directory it
	// matches, added and dropped as they come and go; nginx and php-fpm
	// configs in practice put it in the last element only.
	if hasMeta(dir) {
		return target{}, fmt.Errorf("path %q: wildcards are supported in the last element only", p)
	}
	t := target{path: p, dir: dir}
	if !hasMeta(base) {
		t.name = base
		return t, nil
	}
	if _, err := filepath.Match(base, ""); err != nil {
		return target{}, fmt.Errorf("path %q: %w", p, err)
	}
	t.glob = base
	return t, nil
}

// hasMeta reports whether s holds a character filepath.Match treats
// specially.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// matches reports whether name, an entry of t.dir, is one t covers.
func (t target) matches(name string) bool {
	if t.glob == "" {
		return name == t.name
	}
	return globMatch(t.glob, name)
}

// globMatch matches as glob(3) does, which nginx's and php-fpm's include use:
// unlike filepath.Match, a wildcard does not match a leading dot. That keeps
// editors' hidden swap and lock files (".a.conf.swp", emacs's ".#a.conf")
// and the kubelet's "..data" out of "*.conf", as they are out of the config
// nginx and php-fpm actually load.
func globMatch(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
		return false
	}
	ok, _ := filepath.Match(pattern, name) // the pattern was checked by parseTarget
	return ok
}

// listed reports whether name, an entry of a directory given as a plain
// path, is part of that directory's content. Hidden names are the
// kubelet's bookkeeping and editors' swap files; "name~" and "#name#" are
// editors' backups and autosaves. None of them is config anybody loads.
func listed(name string) bool {
	switch {
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "~"):
		return false
	case len(name) > 1 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return false
	}
	return true
}

// covers reports whether an event on path (in directory dir, named name)
// can change t's content: an entry t covers, the kubelet's swap beside it,
// or the directory holding t's names (or that directory's parent) coming
// or going.
func (t target) covers(path, dir, name string) bool {
	switch {
	case path == t.dir || path == filepath.Dir(t.dir):
		return true
	case dir == t.dir:
		return name == kubeDataLink || t.matches(name)
	case t.glob == "" && dir == t.path:
		// Inside a plain path that is a directory.
		return name == kubeDataLink || listed(name)
	}
	return false
}

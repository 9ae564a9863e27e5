package stack

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/nginx"
)

// nginxAccess is a phpfpm.Server.ClientAccess for nginx's workers: who
// they run as, with the config in force, and whether that user may
// connect to a socket.
func nginxAccess(ngx func() *nginx.Config) func(socket string) error {
	return func(socket string) error {
		uid, gids, who, err := nginxWorkers(ngx())
		if err != nil {
			return nil // unknown: not worth refusing a pool for
		}
		if err := listen.UnixAccess(socket, uid, gids); err != nil {
			return fmt.Errorf("nginx's workers run as %s and cannot connect: %w", who, err)
		}
		return nil
	}
}

// nginxWorkers is whom nginx's workers run as: the user directive's user
// and group (nginx's default nobody) when nginx's master, like lnmp-init,
// is root; lnmp-init's own user otherwise, as nginx cannot switch.
func nginxWorkers(cfg *nginx.Config) (uid int, gids []int, who string, err error) {
	if os.Geteuid() != 0 {
		groups, err := os.Getgroups()
		if err != nil {
			return 0, nil, "", err
		}
		return os.Geteuid(), append(groups, os.Getegid()), "uid " + strconv.Itoa(os.Geteuid()), nil
	}
	name, group := cfg.User, cfg.Group
	switch {
	case name == "":
		name, group = "nobody", "nogroup" // nginx's compiled-in default on Linux
	case group == "":
		group = name // "user www-data;" means group www-data
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, nil, "", err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if g, err := user.LookupGroup(group); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	gids = []int{gid}
	// nginx calls initgroups: the user's other groups count too.
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil {
				gids = append(gids, n)
			}
		}
	}
	return uid, gids, fmt.Sprintf("%s (uid %d)", name, uid), nil
}

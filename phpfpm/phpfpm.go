// Package phpfpm is what lnmp-init knows about php-fpm: where the binary and
// its configuration live, what the configuration says (pools, where they
// listen, how long a graceful stop may take), how to run php-fpm in the
// foreground, and how to ask php-fpm itself whether a configuration is valid
// and which php.ini files it reads.
//
// Load reads the configuration the way php-fpm's fpm_conf.c does, including
// its quirks (a line starting with '#' is an error, not a comment; the first
// env[NAME] of a pool wins), so that what lnmp-init waits for and signals is
// what php-fpm will actually do. It is not a validator: it ignores settings it
// has no use for, and Validate, which runs php-fpm -t, has the last word.
package phpfpm

// Args returns php-fpm's arguments to run in the foreground with config as
// its configuration file. -F overrides any daemonize setting in the file, so
// the master stays lnmp-init's child and its exit is seen.
func Args(config string) []string {
	return []string{"-F", "-y", config}
}

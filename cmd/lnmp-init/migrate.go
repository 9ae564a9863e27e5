package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lnmp-init/lnmp-init/migrate"
)

// migrateConfig is `lnmp-init migrate [--procfile PATH] supervisord.conf`:
// read a supervisord config as supervisord does and print what replaces
// it. A config that cannot be read is bad input: exit 2 and one line.
func migrateConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lnmp-init migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	procfile := fs.String("procfile", migrate.DefaultProcfile, "where the Procfile will be: the output names it, and program directories below it are written relative to it")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stdout, "Usage: lnmp-init migrate [--procfile PATH] supervisord.conf")
			fmt.Fprintln(stdout, "Prints the Procfile, the settings and the notes that replace a supervisord config; %(ENV_X)s expands from this environment.")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		return exitCode(stderr, &usageError{"migrate: " + err.Error()})
	}
	if fs.NArg() != 1 {
		return exitCode(stderr, &usageError{"migrate: want one supervisord config, e.g. lnmp-init migrate /etc/supervisor/supervisord.conf"})
	}
	cfg, err := migrate.Load(fs.Arg(0), os.Environ())
	if err != nil {
		return exitCode(stderr, &usageError{"migrate: " + err.Error()})
	}
	if err := migrate.Write(stdout, migrate.Translate(cfg, *procfile)); err != nil {
		return exitCode(stderr, fmt.Errorf("migrate: %w", err))
	}
	return 0
}

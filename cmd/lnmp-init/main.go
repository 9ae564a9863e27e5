// Command lnmp-init is PID 1 for containers that run nginx and php-fpm: it
// starts php-fpm, then nginx once php-fpm accepts connections; on SIGTERM it
// keeps serving for a drain delay, then stops nginx and php-fpm gracefully
// in that order; it reaps every orphan and restarts crashed children.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is lnmp-init without os.Exit: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			printVersion(stdout)
			return 0
		case "check":
			return check(args[1:], stdout, stderr)
		case "probe":
			return probe(args[1:], stdout, stderr)
		case "env":
			return printEnv(args[1:], stdout, stderr)
		case "migrate":
			return migrateConfig(args[1:], stdout, stderr)
		}
	}
	return serve(args, stdout, stderr)
}

// exitCode maps an error to lnmp-init's exit code, writing one line for it:
// 2 for bad input, 1 for anything else.
func exitCode(stderr io.Writer, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "lnmp-init: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func printVersion(out io.Writer) {
	commit, goVersion := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(out, "lnmp-init %s commit %s %s\n", version, commit, goVersion)
}

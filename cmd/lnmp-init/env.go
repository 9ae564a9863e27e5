package main

import (
	"flag"
	"fmt"
	"io"
)

// printEnv is `lnmp-init env`: every environment variable lnmp-init reads,
// with its value as the environment and flags make it now and what it
// means, in the form a Dockerfile's ENV or a manifest's env takes.
func printEnv(args []string, stdout, stderr io.Writer) int {
	set, rest, err := parseSettings("lnmp-init env", args, stdout, nil)
	if err == nil && len(rest) > 0 {
		err = &usageError{fmt.Sprintf("env: unexpected argument %q", rest[0])}
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	set.bind(fs)
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(stdout, "# %s\n%s=%s\n", f.Usage, envName(f.Name), f.Value.String())
	})
	fmt.Fprintf(stdout, "# lnmp-init probe only: how long it waits for an answer\n%s_PROBE_TIMEOUT=%s\n", envPrefix, probeTimeout)
	return 0
}

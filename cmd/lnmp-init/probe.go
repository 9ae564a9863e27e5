package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/lnmp-init/lnmp-init/health"
)

// probeTimeout is how long `lnmp-init probe` waits by default.
const probeTimeout = 2 * time.Second

// probe is `lnmp-init probe ready|live`: a Docker HEALTHCHECK or exec probe
// that needs no curl in the image. Exit 0 when the endpoint answers 200,
// 1 otherwise, 2 for bad input.
func probe(args []string, stdout, stderr io.Writer) int {
	var p struct {
		HealthAddr string        `envconfig:"HEALTH_ADDR" default:":9180"`
		Timeout    time.Duration `envconfig:"PROBE_TIMEOUT"`
	}
	p.Timeout = probeTimeout
	if err := envconfig.Process(envPrefix, &p); err != nil {
		return exitCode(stderr, &usageError{err.Error()})
	}
	endpoints := map[string]string{"ready": "readyz", "live": "livez"}
	const usage = "usage: lnmp-init probe [--health-addr ADDR] [--timeout 2s] ready|live"
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&p.HealthAddr, "health-addr", p.HealthAddr, "")
	fs.DurationVar(&p.Timeout, "timeout", p.Timeout, "")
	// Flags may come before the endpoint and after it.
	if err := fs.Parse(args); err != nil {
		return exitCode(stderr, &usageError{"probe: " + err.Error() + "; " + usage})
	}
	rest := fs.Args()
	if len(rest) == 0 || endpoints[rest[0]] == "" {
		return exitCode(stderr, &usageError{usage})
	}
	endpoint := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return exitCode(stderr, &usageError{"probe: " + err.Error() + "; " + usage})
	}
	if fs.NArg() > 0 {
		return exitCode(stderr, &usageError{fmt.Sprintf("probe: unexpected argument %q; %s", fs.Arg(0), usage)})
	}
	if p.Timeout <= 0 {
		return exitCode(stderr, settingError("timeout", "must be > 0, got %v", p.Timeout))
	}
	url, err := health.ProbeURL(p.HealthAddr, endpoints[endpoint])
	if err != nil {
		return exitCode(stderr, settingError("health-addr", "%v", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.Timeout)
	defer cancel()
	code, body, err := health.Ask(ctx, url)
	if err != nil {
		fmt.Fprintf(stderr, "lnmp-init probe %s: %v\n", endpoint, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	if code != 200 {
		return 1
	}
	return 0
}

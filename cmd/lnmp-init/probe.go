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

// probe is `lnmp-init probe ready|live`: a Docker HEALTHCHECK or exec probe
// that needs no curl in the image. Exit 0 when the endpoint answers 200,
// 1 otherwise, 2 for bad input.
func probe(args []string, stdout, stderr io.Writer) int {
	var p struct {
		HealthAddr string        `envconfig:"HEALTH_ADDR" default:":9180"`
		Timeout    time.Duration `envconfig:"PROBE_TIMEOUT" default:"2s"`
	}
	if err := envconfig.Process(envPrefix, &p); err != nil {
		return exitCode(stderr, &usageError{err.Error()})
	}
	endpoints := map[string]string{"ready": "readyz", "live": "livez"}
	if len(args) == 0 || endpoints[args[0]] == "" {
		return exitCode(stderr, &usageError{"usage: lnmp-init probe ready|live [--health-addr ADDR] [--timeout 2s]"})
	}
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&p.HealthAddr, "health-addr", p.HealthAddr, "")
	fs.DurationVar(&p.Timeout, "timeout", p.Timeout, "")
	if err := fs.Parse(args[1:]); err != nil {
		return exitCode(stderr, &usageError{"probe: " + err.Error()})
	}
	url, err := health.ProbeURL(p.HealthAddr, endpoints[args[0]])
	if err != nil {
		return exitCode(stderr, settingError("health-addr", "%v", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.Timeout)
	defer cancel()
	code, body, err := health.Ask(ctx, url)
	if err != nil {
		fmt.Fprintf(stderr, "lnmp-init probe %s: %v\n", args[0], err)
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	if code != 200 {
		return 1
	}
	return 0
}

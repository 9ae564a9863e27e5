package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/lnmp-init/lnmp-init/childlog"
)

// relayEnv makes the bench binary the relay of the child-output benchmark:
// nginx's output through package childlog, as lnmp-init runs it, in the
// mode the variable names. The driver reads the relay's stdout as a
// container runtime would.
const relayEnv = "LNMP_BENCH_CHILDLOG_RELAY"

// relayModes are the modes measured, in table order, with their labels.
var relayModes = []struct {
	name, label string
	opts        childlog.Options
}{
	{"raw", "raw (pass-through)", childlog.Options{Mode: childlog.Raw}},
	{"json", "tagged, JSON", childlog.Options{Mode: childlog.Tagged, Format: childlog.JSON}},
	{"console", "tagged, console", childlog.Options{Mode: childlog.Tagged, Format: childlog.Console}},
}

// relayReport is what the relay tells the driver on fd 3 when it ends.
type relayReport struct {
	Counts   childlog.Counts
	Complete bool
	Relayed  bool
}

// relayMain runs nginx (argv: binary, config) with its output through
// childlog until SIGTERM, then stops nginx gracefully, flushes and reports.
func relayMain(mode string, argv []string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var opts *childlog.Options
	for _, m := range relayModes {
		if m.name == mode {
			opts = &m.opts
		}
	}
	if opts == nil || len(argv) != 2 {
		fmt.Fprintf(os.Stderr, "relay: bad mode %q or arguments %q\n", mode, argv)
		return 2
	}
	logs := childlog.New(os.Stdout, os.Stderr, *opts)
	stdout, stderr, err := logs.Files("nginx")
	if err != nil {
		fmt.Fprintf(os.Stderr, "relay: %v\n", err)
		return 1
	}
	cmd := exec.Command(argv[0], "-c", argv[1], "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "relay: start nginx: %v\n", err)
		return 1
	}
	<-term
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	_ = cmd.Wait()
	rep := relayReport{Complete: logs.Close(10 * time.Second), Counts: logs.Counts(), Relayed: logs.Relayed()}
	if err := json.NewEncoder(os.NewFile(3, "report")).Encode(rep); err != nil {
		fmt.Fprintf(os.Stderr, "relay: report: %v\n", err)
		return 1
	}
	return 0
}

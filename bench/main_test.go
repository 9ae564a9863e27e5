package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/lnmptest"
)

func TestParseFlagsOnly(t *testing.T) {
	cfg, err := parseFlags([]string{"-only", "tini,lnmp-init", "-only", "tini", "-runs", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Table order, not the order given, and no duplicates.
	if got := cfg.only.selected(); !slices.Equal(got, []string{"lnmp-init", "tini"}) {
		t.Errorf("selected = %v", got)
	}
	if cfg.runs != 5 {
		t.Errorf("runs = %d", cfg.runs)
	}
	cfg, err = parseFlags(nil, io.Discard)
	if err != nil || !slices.Equal(cfg.only.selected(), contenderNames()) || cfg.runs != 3 {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-only", "dumb-init"},
		{"-runs", "0"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine("/tmp/go-build123/b001/exe/bench", []string{"-runs", "3", "-only", "a b"})
	if want := "go run ./bench -runs 3 -only 'a b'"; got != want {
		t.Errorf("go run: %q, want %q", got, want)
	}
	if got := commandLine("./bench", nil); got != "./bench" {
		t.Errorf("built binary: %q", got)
	}
}

func TestCommandForWritesConfigs(t *testing.T) {
	// supervisord splits command= with shlex and treats " ;" as a comment:
	// the nginx -g argument must stay one quoted word with no space before ;.
	sb := lnmptest.NewTestSandbox(t, lnmptest.Options{})
	bin := binaries{nginx: "/usr/sbin/nginx", phpFPM: "/usr/sbin/php-fpm8.2", supervisord: "/usr/bin/supervisord"}
	conf := supervisordConf(sb, bin)
	if !strings.Contains(conf, `-g "daemon off;"`) || strings.Contains(conf, " ;") {
		t.Errorf("supervisord command lines:\n%s", conf)
	}
	script := startScript(sb, bin)
	if !strings.Contains(script, "php-fpm8.2 -D -y ") || !strings.Contains(script, "exec /usr/sbin/nginx -c ") {
		t.Errorf("start script:\n%s", script)
	}
}

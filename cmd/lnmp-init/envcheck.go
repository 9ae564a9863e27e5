package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.uber.org/zap"
)

// serviceLink matches what the kubelet sets for each Service in the pod's
// namespace (enableServiceLinks): a Service named lnmp or lnmp-web gives
// LNMP_SERVICE_HOST, LNMP_WEB_PORT_80_TCP_ADDR and the like. They are not
// meant for lnmp-init, and are no typo.
var serviceLink = regexp.MustCompile(`_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$`)

// unknownEnv sorts the LNMP_ variables of environ that name no setting
// into near misses, each with the setting it most likely meant (a misspelt
// variable is otherwise ignored without a word, and the setting keeps its
// default), and foreign ones, too far from every setting to be a typo:
// another tool's or the app's own, which lnmp-init leaves alone.
func unknownEnv(environ []string, fs *flag.FlagSet) (near, foreign []string) {
	known := map[string]bool{envPrefix + "_PROBE_TIMEOUT": true}
	fs.VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix+"_") || known[name] || serviceLink.MatchString(name) {
			continue
		}
		// A name that is the start of a setting's (LNMP_DRAIN) or starts
		// with one (LNMP_DRAIN_DELAY_S) counts as distance 0 to it.
		best, dist := "", 1<<30
		for k := range known {
			d := editDistance(name, k)
			if strings.HasPrefix(k, name+"_") || strings.HasPrefix(name, k+"_") {
				d = 0
			}
			if d < dist || d == dist && k < best {
				best, dist = k, d
			}
		}
		if dist <= 3 {
			near = append(near, fmt.Sprintf("%s names no setting and is ignored; did you mean %s? (lnmp-init env lists them all)", name, best))
		} else {
			foreign = append(foreign, name)
		}
	}
	return near, foreign
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// envWarnings is unknownEnv for this process's environment and settings.
func envWarnings() (near, foreign []string) {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	(&settings{}).bind(fs)
	return unknownEnv(os.Environ(), fs)
}

// logEnvWarnings logs the near misses as warnings and names the foreign
// LNMP_ variables once, at info level.
func logEnvWarnings(log *zap.Logger) {
	near, foreign := envWarnings()
	for _, w := range near {
		log.Warn(w)
	}
	if len(foreign) > 0 {
		log.Info("LNMP_ variables that are no lnmp-init setting, left alone", zap.Strings("names", foreign))
	}
}

package migrate

import (
	"path/filepath"
	"regexp"
	"strings"
)

// shells are the shells whose "-c SCRIPT" a Procfile can run as SCRIPT:
// lnmp-init runs a command with shell syntax under /bin/sh itself. bash is
// not among them: its scripts may need bash.
var shells = map[string]bool{"sh": true, "/bin/sh": true, "/usr/bin/sh": true}

// plainWord is a word that needs no quoting on a Procfile line.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// procfileCommand writes argv, as supervisord would execute it, as a
// Procfile command that runs the same argv: "sh -c SCRIPT" becomes SCRIPT,
// and any other word that the shell would read differently is
// single-quoted, so the shell lnmp-init then runs it under gives back the
// very same words. An unset variable (envMark X envMark) becomes "${X}",
// which that shell expands when the program starts, as supervisord
// expanded %(ENV_X)s when it started.
func procfileCommand(argv []string) string {
	if len(argv) == 3 && shells[argv[0]] && argv[1] == "-c" {
		return strings.TrimSpace(unmark(argv[2], "${", "}"))
	}
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = quoteWord(a, i == 0)
	}
	return strings.Join(words, " ")
}

// quoteWord quotes one word for /bin/sh. The first word is also quoted
// when it looks like an assignment, which the shell would not run.
func quoteWord(w string, first bool) string {
	if plainWord.MatchString(w) && !(first && strings.Contains(w, "=")) {
		return w
	}
	var b strings.Builder
	for i, part := range strings.Split(w, envMark) {
		switch {
		case i%2 == 1:
			b.WriteString(`"${` + part + `}"`)
		case plainWord.MatchString(part) && !(first && i == 0 && strings.Contains(part, "=")):
			b.WriteString(part)
		case part != "" || len(w) == 0:
			b.WriteString("'" + strings.ReplaceAll(part, "'", `'\''`) + "'")
		}
	}
	return b.String()
}

// unmark replaces each envMark X envMark in s with open X close.
func unmark(s, open, close string) string {
	parts := strings.Split(s, envMark)
	for i := 1; i < len(parts); i += 2 {
		parts[i] = open + parts[i] + close
	}
	return strings.Join(parts, "")
}

// mainArgv is the command a program really runs, for telling nginx and
// php-fpm apart: "sh -c 'exec nginx -g ...'" runs nginx.
func mainArgv(argv []string) []string {
	if len(argv) == 3 && (shells[argv[0]] || filepath.Base(argv[0]) == "bash") && argv[1] == "-c" {
		if inner, err := splitCommand(argv[2]); err == nil && len(inner) > 0 {
			if inner[0] == "exec" {
				inner = inner[1:]
			}
			if len(inner) > 0 {
				return inner
			}
		}
	}
	return argv
}

var (
	nginxBinary  = regexp.MustCompile(`^nginx(-debug)?$`)
	phpFPMBinary = regexp.MustCompile(`^php-?fpm[0-9.]*$|^php[0-9.]+-fpm$`)
)

// kind says which of lnmp-init's own children argv runs: "nginx",
// "php-fpm", or "" for a program of the Procfile.
func kind(argv []string) string {
	base := filepath.Base(mainArgv(argv)[0])
	switch {
	case nginxBinary.MatchString(base):
		return "nginx"
	case phpFPMBinary.MatchString(base):
		return "php-fpm"
	}
	return ""
}

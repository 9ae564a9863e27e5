package migrate

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/lnmp-init/lnmp-init/procfile"
)

// Write prints r for a person to act on: the Procfile, the environment as
// Dockerfile ENV lines, and a line for every setting that does not carry
// over, each saying why. Everything but the Procfile's lines and the
// variables is a comment.
func Write(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# lnmp-init migrate: what replaces %s\n", r.Source.File)
	if len(r.Source.Files) > 1 {
		fmt.Fprintf(&b, "# read: %s\n", strings.Join(r.Source.Files, ", "))
	}
	dir := filepath.Dir(r.Procfile)
	if len(r.Programs)+len(r.Disabled) > 0 {
		fmt.Fprintf(&b, "\n# Procfile: save as %s\n", r.Procfile)
		text, err := procfile.Format(r.Programs, dir)
		if err != nil {
			return err
		}
		b.WriteString(text)
		for _, p := range r.Disabled {
			text, err := procfile.Format([]procfile.Program{p}, dir)
			if err != nil {
				return err
			}
			// "# # lnmp:" is no option line: the options stay with their
			// commented-out program.
			for _, line := range strings.SplitAfter(text, "\n") {
				if line != "" {
					b.WriteString("# " + line)
				}
			}
		}
	}
	if len(r.Settings) > 0 {
		b.WriteString("\n# Environment, as Dockerfile ENV lines (in Kubernetes: the container's env)\n")
		for _, s := range r.Settings {
			line := "ENV " + s.Name + "=" + envValue(s.Value)
			if s.Optional {
				line = "# " + line
			}
			fmt.Fprintf(&b, "# %s\n%s\n", s.Why, line)
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n# Not carried over, or not needed\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "# %s: %s\n", n.Where, n.Text)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// envValue quotes a value for a Dockerfile ENV line when it needs it.
func envValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"'\\$#") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(v) + `"`
}

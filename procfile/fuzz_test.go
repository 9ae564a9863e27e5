package procfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts obeys the
// documented rules, and that Format writes it back so that Parse reads the
// same programs.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"worker: php artisan queue:work\n",
		"# lnmp: stop-signal=QUIT stop-timeout=90s on-crash=exit\nworker: php a | b\n",
		"# lnmp: dir=\"a b\" env=\"X=1 2\" env=Y=\\\\\n# note\nw: x\n\n# c\nv:y\r\n",
		"# lnmp: on-exit-0=ignore dir=/abs\nw: APP=1 x\n",
		"a: x\nA: y\n",
		"# lnmp: bogus\nw: x",
		"w:\n",
		"nginx: x\n",
		"#lnmp:dir=\"\\\"\"\nw: x\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		progs, err := Parse("/srv/app/Procfile", []byte(text))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		seen := make(map[string]bool)
		for _, p := range progs {
			checkProgram(t, p, seen)
		}
		out, err := Format(progs, "/srv/app")
		if err != nil {
			t.Fatalf("Format: %v", err)
		}
		again, err := Parse("/srv/app/Procfile", []byte(out))
		if err != nil {
			t.Fatalf("Parse(Format(...)): %v\n%s", err, out)
		}
		if len(again) != len(progs) {
			t.Fatalf("round trip: %d programs, want %d\n%s", len(again), len(progs), out)
		}
		for i := range progs {
			a, b := progs[i], again[i]
			a.Line, b.Line = 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed a program:\n got  %+v\n want %+v\n%s", b, a, out)
			}
		}
	})
}

func checkProgram(t *testing.T, p Program, seen map[string]bool) {
	t.Helper()
	if !programLine.MatchString(p.Name + ": x") {
		t.Fatalf("bad name %q accepted", p.Name)
	}
	key := strings.ToLower(p.Name)
	if Reserved(key) || seen[key] {
		t.Fatalf("reserved or duplicate name %q accepted", p.Name)
	}
	seen[key] = true
	if strings.TrimSpace(p.Text) == "" || strings.ContainsAny(p.Text, "\n\r") {
		t.Fatalf("%s: bad command %q", p.Name, p.Text)
	}
	holds := strings.ContainsAny(p.Text, shellChars)
	if holds && (!p.Shell || !strings.HasPrefix(p.ShellReason, "it holds")) || p.Shell == (p.ShellReason == "") {
		t.Fatalf("%s: shell %v (%q) for %q", p.Name, p.Shell, p.ShellReason, p.Text)
	}
	blanks := func(r rune) bool { return r == ' ' || r == '\t' }
	if !p.Shell && !reflect.DeepEqual(p.Argv(), strings.FieldsFunc(p.Text, blanks)) {
		t.Fatalf("%s: argv %q does not split %q on blanks", p.Name, p.Argv(), p.Text)
	}
	if p.Shell && (p.Path != ShellPath || len(p.Args) != 2 || p.Args[1] != p.Text) {
		t.Fatalf("%s: shell argv %q", p.Name, p.Argv())
	}
	if !strings.HasPrefix(p.Dir, "/") || p.StopSignal == 0 {
		t.Fatalf("%s: dir %q, signal %v", p.Name, p.Dir, p.StopSignal)
	}
}

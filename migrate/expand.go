package migrate

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// expansions are the names a value's %(name)s may use: strings, or ints
// for process_num and numprocs.
type expansions map[string]any

// formatSpec is one Python %-conversion with a mapping key, the only kind
// supervisord's values use: %(name)s, %(process_num)02d.
var formatSpec = regexp.MustCompile(`^%\(([^)]*)\)([#0+ -]*)(\d*)(?:\.(\d+))?([sdir])`)

// expand does what supervisord's `value % expansions` does. Unset names
// are an error, as in supervisord, naming the option; except that an
// ENV_X that is unset is handed to onMissingEnv when it is not nil, whose
// result stands in its place.
func expand(s string, ex expansions, where string, onMissingEnv func(name string) string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "%%") {
			b.WriteByte('%')
			s = s[2:]
			continue
		}
		m := formatSpec.FindStringSubmatch(s)
		if m == nil {
			return "", fmt.Errorf("%s: %q is badly formatted: a %% must be %%%% or start %%(name)s", where, s)
		}
		v, ok := ex[m[1]]
		if !ok {
			if env, isEnv := strings.CutPrefix(m[1], "ENV_"); isEnv && onMissingEnv != nil {
				v, ok = onMissingEnv(env), true
			}
		}
		if !ok {
			return "", fmt.Errorf("%s: %%(%s)s cannot be expanded; the names are %s", where, m[1], names(ex))
		}
		out, err := convert(v, m[2], m[3], m[4], m[5][0])
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", where, m[0], err)
		}
		b.WriteString(out)
		s = s[len(m[0]):]
	}
}

// convert formats v as one %-conversion would.
func convert(v any, flags, width, prec string, verb byte) (string, error) {
	var out string
	switch verb {
	case 's', 'r':
		out = fmt.Sprint(v)
		if verb == 'r' {
			if _, isString := v.(string); isString {
				out = "'" + out + "'"
			}
		}
		if prec != "" {
			p, _ := strconv.Atoi(prec)
			out = out[:min(p, len(out))]
		}
	default: // d, i
		n, ok := v.(int)
		if !ok {
			return "", fmt.Errorf("%%%c wants a number, got %q", verb, fmt.Sprint(v))
		}
		out = strconv.Itoa(n)
		if strings.Contains(flags, "+") && n >= 0 {
			out = "+" + out
		}
	}
	w, _ := strconv.Atoi(width)
	switch pad := w - len(out); {
	case pad <= 0:
	case strings.Contains(flags, "-"):
		out += strings.Repeat(" ", pad)
	case strings.Contains(flags, "0") && verb != 's' && verb != 'r':
		sign := ""
		if out[0] == '-' || out[0] == '+' {
			sign, out = out[:1], out[1:]
		}
		out = sign + strings.Repeat("0", pad) + out
	default:
		out = strings.Repeat(" ", pad) + out
	}
	return out, nil
}

// names lists the expansion names, the environment's as one.
func names(ex expansions) string {
	var out []string
	for k := range ex {
		if !strings.HasPrefix(k, "ENV_") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(append(out, "ENV_ and a variable of the environment"), ", ")
}

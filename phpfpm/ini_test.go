package phpfpm

import (
	"strings"
	"testing"
)

// fakeEnv is a lookupFunc over a fixed environment.
func fakeEnv(env map[string]string) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// TestParseValue pins the value rules to what php-fpm 8.2 printed with -tt
// for env[V] = <in> on Debian 12.
func TestParseValue(t *testing.T) {
	env := fakeEnv(map[string]string{"XV": "val", "HOME": "/root", "EMPTY": ""})
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: " plain", want: "plain"},
		{in: "hello  world  ", want: "hello  world"},
		{in: "a\tb", want: "a\tb"},
		{in: `a "b"`, want: "ab"},
		{in: `"a" b`, want: "ab"},
		{in: `a b "c d" e`, want: "a bc de"},
		{in: `"x" "y"`, want: "xy"},
		{in: `'a' 'b'`, want: "a b"},
		{in: `'s\q'`, want: `s\q`},
		{in: `'${XV}'`, want: "${XV}"},
		{in: `"a\\b\n"`, want: `a\b\n`},
		{in: `"q\"x"`, want: `q"x`},
		{in: `"a\$b"`, want: "a$b"},
		{in: `"a\x"`, want: `a\x`},
		{in: `"a;b" ; comment`, want: "a;b"},
		{in: ` "a" ; x`, want: "a"},
		{in: `a\;b`, want: `a\`},
		{in: "a ${XV} b", want: "a val b"},
		{in: "${XV} x", want: "val x"},
		{in: "x${XV}", want: "xval"},
		{in: "${XV}${XV}", want: "valval"},
		{in: `"hello ${HOME} world"`, want: "hello /root world"},
		{in: `"${XV}"x`, want: "valx"},
		{in: "${NOPE}7", want: "7"},
		{in: "${NOPE:-9000}", want: "9000"},
		{in: "${XV:-9000}", want: "val"},
		{in: "${EMPTY:-9000}", want: ""}, // Set but empty is set.
		{in: "${NOPE:-${XV}x}", want: "valx"},
		{in: "/run/$pool.sock", want: "/run/$pool.sock"}, // $pool is php-fpm's, not the INI parser's.
		{in: "a$b", want: "a$b"},
		{in: "[::]:9000", want: "[::]:9000"},
		{in: "a{b}c", want: "a{b}c"},
		{in: "a#b", want: "a#b"},
		{in: "yes", want: "1"},
		{in: "TRUE", want: "1"},
		{in: "On", want: "1"},
		{in: "off", want: ""},
		{in: "none", want: ""},
		{in: "NULL", want: ""},
		{in: `"yes"`, want: "yes"},
		{in: "", want: ""},
		{in: "yes please", wantErr: "INI keyword"},
		{in: "a=b", wantErr: "syntax error"},
		{in: "a!b", wantErr: "syntax error"},
		{in: "a(b", wantErr: "syntax error"},
		{in: "a~b", wantErr: "syntax error"},
		{in: "a&b", wantErr: "expression"},
		{in: "a|b", wantErr: "expression"},
		{in: `"open`, wantErr: "unterminated"},
		{in: `'open`, wantErr: "unterminated"},
		{in: "${HOME", wantErr: "unterminated"},
		{in: "${}", wantErr: "empty variable"},
	}
	for _, tt := range tests {
		got, err := parseValue(tt.in, env)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseValue(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("parseValue(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		in      string
		want    line
		wantErr string
	}{
		{in: "", want: line{kind: lineBlank}},
		{in: "   ; comment", want: line{kind: lineBlank}},
		{in: "[www]", want: line{kind: lineSection, name: "www"}},
		{in: "  [www x ] ; c", want: line{kind: lineSection, name: "www x "}},
		{in: "listen = 9000", want: line{kind: lineEntry, name: "listen", value: "9000"}},
		{in: "Listen=9000", want: line{kind: lineEntry, name: "Listen", value: "9000"}},
		{in: "include=/etc/x/*.conf", want: line{kind: lineEntry, name: "include", value: "/etc/x/*.conf"}},
		{in: "env[PATH] = /bin", want: line{kind: lineEntry, name: "env", index: "PATH", array: true, value: "/bin"}},
		{in: "php_admin_value[memory_limit] = 32M", want: line{kind: lineEntry, name: "php_admin_value", index: "memory_limit", array: true, value: "32M"}},
		{in: "# comment", wantErr: "'#' does not start a comment"},
		{in: "#listen = 9000", wantErr: "'#' does not start a comment"},
		{in: "listen", wantErr: "no '='"},
		{in: "listen ; = 9000", wantErr: "no '='"},
		{in: "[www", wantErr: "no closing"},
		{in: "[]", wantErr: "bad section"},
		{in: "[www[b]]", wantErr: "bad section"},
		{in: "[www] x", wantErr: "unexpected"},
		{in: "env[X = 1", wantErr: "bad key"},
		{in: "= 1", wantErr: "bad key"},
	}
	for _, tt := range tests {
		got, err := parseLine(tt.in, fakeEnv(nil))
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseLine(%q) = %+v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("parseLine(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

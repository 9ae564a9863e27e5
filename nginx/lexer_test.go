package nginx

import (
	"reflect"
	"strings"
	"testing"
)

// lexAll returns every statement of src as "word|word|stop", one per
// statement, or the first error.
func lexAll(src string) ([]string, error) {
	lx := newLexer("t.conf", src)
	var got []string
	for {
		st, err := lx.next()
		if err != nil {
			return got, err
		}
		if st.stop == stopEOF {
			return got, nil
		}
		got = append(got, strings.Join(append(st.words, []string{";", "{", "}"}[st.stop]), "|"))
	}
}

func TestLexer(t *testing.T) {
	// Expectations not obvious from the code were measured with nginx 1.22:
	// the parsing ones with nginx -t, the escapes by serving "return 200"
	// bodies and reading them back.
	tests := []struct {
		name, src string
		want      []string
		wantErr   string
	}{
		{name: "simple", src: "a b;\nc {\n d;\n}\n", want: []string{"a|b|;", "c|{", "d|;", "}"}},
		{name: "no spaces", src: "a{b c;}", want: []string{"a|{", "b|c|;", "}"}},
		{name: "comment", src: "# x;\na b; # c }\n", want: []string{"a|b|;"}},
		{name: "hash inside word", src: "a b#c;", want: []string{"a|b#c|;"}},
		{name: "brace inside word", src: "a b}c;", want: []string{"a|b}c|;"}},
		{name: "double quotes keep separators", src: `a "b;c{d}#e f";`, want: []string{"a|b;c{d}#e f|;"}},
		{name: "single quotes", src: `a 'b "c" d';`, want: []string{`a|b "c" d|;`}},
		{name: "empty quotes", src: `a "";`, want: []string{"a||;"}},
		{name: "escaped quote", src: `a "b\"c" 'd\'e';`, want: []string{`a|b"c|d'e|;`}},
		{name: "escapes", src: `a "\t\n\r\\\d";`, want: []string{"a|\t\n\r\\\\d|;"}},
		{name: "regex keeps backslash", src: `location ~ \.php$ {}`, want: []string{`location|~|\.php$|{`, "}"}},
		{name: "unquoted escape", src: `a b\ c\;d;`, want: []string{`a|b\ c\;d|;`}},
		{name: "escaped quote starts word", src: `a \"b;`, want: []string{`a|"b|;`}},
		{name: "quote inside word", src: `a b"c;`, want: []string{`a|b"c|;`}},
		{name: "variable brace", src: "a ${b}c;", want: []string{"a|${b}c|;"}},
		{name: "escaped dollar", src: `a \${b;}`, want: []string{`a|\$|{`, "b|;", "}"}},
		{name: "paren after quote", src: `if ($a = "b") {}`, want: []string{`if|($a|=|b|)|{`, "}"}},
		{name: "multiline quote", src: "a \"b\nc\";", want: []string{"a|b\nc|;"}},
		{name: "crlf", src: "a b;\r\nc d;\r\n", want: []string{"a|b|;", "c|d|;"}},
		{name: "empty", src: "", want: nil},
		{name: "comment at end", src: "a;#", want: []string{"a|;"}},
		{name: "hash after quote", src: "a \"b\"#c;", wantErr: `unexpected "#" in t.conf:1`},
		{name: "word after quote", src: `a "b"c;`, wantErr: `unexpected "c" in t.conf:1`},
		{name: "quote after quote", src: `a "b""c";`, wantErr: `unexpected """ in t.conf:1`},
		{name: "unterminated quote", src: "a \"b;\n\n", wantErr: `unexpected end of file, expecting ";" or "}" in t.conf:3`},
		{name: "missing semicolon", src: "a b\n", wantErr: `unexpected end of file, expecting ";" or "}" in t.conf:2`},
		{name: "brace after words", src: "a b }", wantErr: `unexpected "}" in t.conf:1`},
		{name: "lone semicolon", src: "\n;", wantErr: `unexpected ";" in t.conf:2`},
		{name: "lone open brace", src: "{", wantErr: `unexpected "{" in t.conf:1`},
		{name: "comment hides semicolon", src: "a b # ;\n", wantErr: `unexpected end of file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lexAll(tt.src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q (statements %q)", err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("statements = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLexerLines(t *testing.T) {
	src := "a;\n# comment\nb \"x\ny\";\n  c\n  d;\n"
	lx := newLexer("t.conf", src)
	var lines []int
	for {
		st, err := lx.next()
		if err != nil {
			t.Fatal(err)
		}
		if st.stop == stopEOF {
			break
		}
		lines = append(lines, st.line)
	}
	if want := []int{1, 3, 5}; !reflect.DeepEqual(lines, want) {
		t.Errorf("statement lines = %v, want %v", lines, want)
	}
}

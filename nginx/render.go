package nginx

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
)

// confPrefixed names the directives whose relative paths nginx resolves
// against the directory of the main config file (its conf prefix) rather
// than its install prefix: include, which render inlines anyway, and the
// certificate and password files.
var confPrefixed = regexp.MustCompile(`^((proxy_|grpc_|uwsgi_)?ssl_(certificate|certificate_key|trusted_certificate|client_certificate|crl|dhparam|password_file|stapling_file|session_ticket_key)|auth_basic_user_file)$`)

// render writes the directives as one config file that means what the
// files they were read from mean, wherever it is written: every include is
// already inlined, and relative paths of the directives in confPrefixed are
// made absolute against confDir. Every word is quoted, with nginx's own
// escapes, so no word can change meaning.
func render(ds []directive, confDir string) []byte {
	var b bytes.Buffer
	renderBlock(&b, ds, confDir, 0)
	return b.Bytes()
}

func renderBlock(b *bytes.Buffer, ds []directive, confDir string, depth int) {
	indent := strings.Repeat("    ", depth)
	for _, d := range ds {
		b.WriteString(indent)
		b.WriteString(quote(d.name))
		for _, a := range d.args {
			if confPrefixed.MatchString(d.name) && relativeFile(a) {
				// Not filepath.Join: cleaning "dir/../x" lexically is not
				// what the kernel does when dir is a symlink.
				a = strings.TrimSuffix(confDir, "/") + "/" + a
			}
			b.WriteByte(' ')
			b.WriteString(quote(a))
		}
		if !d.isBlock {
			b.WriteString(";\n")
			continue
		}
		b.WriteString(" {\n")
		renderBlock(b, d.block, confDir, depth+1)
		b.WriteString(indent + "}\n")
	}
}

// relativeFile reports whether a, an argument naming a file, is a
// relative path nginx resolves against its conf prefix. A variable after
// a literal start ("certs/$ssl_server_name.crt") is resolved at run time,
// against the conf prefix too, so the start is made absolute all the same;
// one at the very start may expand to anything and is left as is, as are
// "data:" and "engine:" values.
func relativeFile(a string) bool {
	return a != "" && !filepath.IsAbs(a) && !strings.HasPrefix(a, "$") &&
		!strings.HasPrefix(a, "data:") && !strings.HasPrefix(a, "engine:")
}

// quote puts a word in double quotes, escaping what nginx unescapes there.
func quote(w string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
}

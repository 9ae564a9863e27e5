package nginx

import (
	"strings"
	"testing"
)

// TestRenderMakesConfPrefixedPathsAbsolute: the paths nginx resolves
// against its conf prefix mean the same in the copy, written elsewhere;
// other words are left as they are.
func TestRenderMakesConfPrefixedPathsAbsolute(t *testing.T) {
	ds := []directive{
		{name: "ssl_certificate", args: []string{"certs/static.crt"}},
		{name: "ssl_certificate", args: []string{"certs/$ssl_server_name.crt"}},
		{name: "ssl_certificate_key", args: []string{"../keys/a.key"}},
		{name: "ssl_certificate", args: []string{"$cert_path"}},
		{name: "ssl_certificate", args: []string{"data:$cert"}},
		{name: "ssl_certificate_key", args: []string{"engine:pkcs11:id"}},
		{name: "auth_basic_user_file", args: []string{"/etc/htpasswd"}},
		{name: "root", args: []string{"html"}}, // install prefix, not conf prefix
	}
	got := string(render(ds, "/etc/nginx/"))
	for _, want := range []string{
		`"ssl_certificate" "/etc/nginx/certs/static.crt";`,
		`"ssl_certificate" "/etc/nginx/certs/$ssl_server_name.crt";`,
		`"ssl_certificate_key" "/etc/nginx/../keys/a.key";`,
		`"ssl_certificate" "$cert_path";`,
		`"ssl_certificate" "data:$cert";`,
		`"ssl_certificate_key" "engine:pkcs11:id";`,
		`"auth_basic_user_file" "/etc/htpasswd";`,
		`"root" "html";`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rendering lacks %s:\n%s", want, got)
		}
	}
}

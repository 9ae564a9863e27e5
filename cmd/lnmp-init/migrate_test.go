package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"migrate"}, "want one supervisord config"},
		{"two files", []string{"migrate", "a", "b"}, "want one supervisord config"},
		{"missing", []string{"migrate", filepath.Join(dir, "nope.conf")}, "no such file"},
		{"binary", []string{"migrate", write("bin.conf", "\x89PNG\r\n\x1a\n\x00\x00")}, "not a text file"},
		{"script", []string{"migrate", write("start.sh", "#!/bin/sh\nphp-fpm -D\nexec nginx -g 'daemon off;'\n")}, "comes before any [section]"},
		{"empty", []string{"migrate", write("empty.conf", "")}, "not a supervisord config"},
		{"json", []string{"migrate", write("x.json", `{"programs": []}`)}, "comes before any [section]"},
		{"bad value", []string{"migrate", write("bad.conf", "[supervisord]\n[program:a]\ncommand=x\nstartsecs=soon\n")}, "bad.conf:4: [program:a] startsecs: want a whole number"},
		{"unset env", []string{"migrate", write("env.conf", "[supervisord]\n[program:a]\ncommand=x\ndirectory=%(ENV_LNMP_TEST_UNSET)s\n")}, "set the variable when running migrate"},
		{"bad flag", []string{"migrate", "--nope", "x"}, "migrate: flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := run(tc.args, &out, &errs)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr %q", code, errs.String())
			}
			if lines := strings.Count(errs.String(), "\n"); lines != 1 || !strings.Contains(errs.String(), tc.want) {
				t.Errorf("stderr %q: want one line with %q", errs.String(), tc.want)
			}
			if out.Len() > 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestMigratePrints(t *testing.T) {
	var out, errs bytes.Buffer
	conf := filepath.Join("..", "..", "migrate", "testdata", "laravel", "supervisord.conf")
	if code := run([]string{"migrate", "--procfile=/var/www/html/Procfile", conf}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, want := range []string{
		"# Procfile: save as /var/www/html/Procfile\n",
		"\nqueue_00: php /var/www/html/artisan queue:work redis --sleep=3 --tries=3 --max-time=3600\n",
		"\nENV LNMP_PROCFILE=/var/www/html/Procfile\n",
		"\nENV LNMP_STOP_TIMEOUT=3602s\n",
		"[program:queue] user=www-data: does not map",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

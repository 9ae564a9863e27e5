package phpfpm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lnmp-init/lnmp-init/internal/testenv"
)

// poolBoilerplate is what php-fpm -t needs in every pool besides listen,
// so that fixtures can also be checked against the real binary.
const poolBoilerplate = "user = nobody\npm = static\npm.max_children = 1\n"

// writeTree writes files (relative path -> content) under root and returns
// root. A content starting with "->" makes a symbolic link to the rest.
func writeTree(t *testing.T, root string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// combined is the run function lnmp-init passes in production.
func combined(_ context.Context, cmd *exec.Cmd) ([]byte, error) {
	return cmd.CombinedOutput()
}

// realBinary returns the installed php-fpm or skips the test.
func realBinary(t *testing.T) string {
	t.Helper()
	bin, err := FindBinary()
	if err != nil {
		testenv.SkipOrFail(t, "needs a real php-fpm to compare with: %v", err)
	}
	return bin
}

// fpmDump runs `php-fpm -tt -p prefix -y conf` with env and returns the configuration
// php-fpm printed, by section ("global" or the pool name), each setting as
// printed. php-fpm prints env[] newest first, so the value kept for a name
// is the first one the files set: the one workers get.
func fpmDump(t *testing.T, bin, conf, prefix string, env []string) map[string]map[string]string {
	t.Helper()
	cmd := exec.Command(bin, "-tt", "-p", prefix, "-y", conf)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("php-fpm -tt -y %s: %v\n%s", conf, err, out)
	}
	dump := make(map[string]map[string]string)
	var section map[string]string
	for l := range strings.Lines(string(out)) {
		l = strings.TrimRight(stripTimestamp(strings.TrimRight(l, "\n")), " ")
		body, ok := strings.CutPrefix(l, "NOTICE: ")
		if !ok {
			continue
		}
		if strings.HasPrefix(body, "[") && strings.HasSuffix(body, "]") {
			name := body[1 : len(body)-1]
			if dump[name] == nil {
				dump[name] = make(map[string]string)
			}
			section = dump[name]
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(body, "\t"), " = ")
		if ok && section != nil && strings.HasPrefix(body, "\t") {
			if value == "undefined" {
				value = ""
			}
			section[key] = value
		}
	}
	return dump
}

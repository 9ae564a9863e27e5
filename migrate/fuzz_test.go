package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzMigrate checks that whatever config Load accepts, the output is
// written and its Procfile parses as lnmp-init will read it.
func FuzzMigrate(f *testing.F) {
	for _, name := range []string{"testdata/basic/supervisord.conf", "testdata/laravel/supervisord.conf", "testdata/include/conf.d/workers.conf"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range trickyConfigs {
		f.Add([]byte(c))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		conf := filepath.Join(dir, "supervisord.conf")
		if err := os.WriteFile(conf, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(conf, shapeEnv)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, Translate(cfg, "/app/Procfile")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		procfileOf(t, out.String())
	})
}

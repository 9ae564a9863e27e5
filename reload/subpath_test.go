package reload

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSubPathMounts(t *testing.T) {
	mi := filepath.Join(t.TempDir(), "mountinfo")
	// Lines as a pod shows them: a ConfigMap directory, and one file of it
	// mounted with subPath (bind-mounted on its own), one with a space.
	content := `23 1 0:21 / / rw,relatime - overlay overlay rw
45 23 8:1 /var/lib/kubelet/pods/x/volumes/kubernetes.io~configmap/nginx /etc/nginx/conf.d ro,relatime - ext4 /dev/sda1 rw
46 23 8:1 /var/lib/kubelet/pods/x/volume-subpaths/fpm/php/0 /usr/local/etc/php-fpm.d/www.conf ro,relatime - ext4 /dev/sda1 rw
47 23 8:1 /var/lib/kubelet/pods/x/volume-subpaths/ini/php/1 /etc/php/my\040app.ini ro,relatime - ext4 /dev/sda1 rw
`
	if err := os.WriteFile(mi, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := SubPathMounts(mi, []string{"/etc/nginx/conf.d/app.conf", "/usr/local/etc/php-fpm.d/www.conf", "/etc/php/my app.ini", "/etc/nginx/nginx.conf"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/local/etc/php-fpm.d/www.conf", "/etc/php/my app.ini"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

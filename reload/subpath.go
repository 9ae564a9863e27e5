package reload

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SubPathMounts returns the paths among files that are mount points of
// their own, read from mountinfo (normally /proc/self/mountinfo). A file
// bind-mounted on its own is what a Kubernetes subPath mount makes, and
// the kubelet never updates it: those configs cannot hot-reload.
func SubPathMounts(mountinfo string, files []string) ([]string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	points := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Field 5 is the mount point, with spaces and the like escaped
		// as octal (proc(5)).
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			points[unescapeOctal(fields[4])] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	var out []string
	for _, file := range files {
		if points[filepath.Clean(file)] {
			out = append(out, file)
		}
	}
	return out, nil
}

// unescapeOctal undoes mountinfo's \NNN escapes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

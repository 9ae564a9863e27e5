package lnmptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ListenerInode returns the inode of the socket listening on TCP port (any
// local address), from /proc/net/tcp and tcp6, or an error when none does.
func ListenerInode(port int) (string, error) {
	hexPort := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			// local_address rem_address st ... inode is the 10th field.
			if len(fields) > 9 && strings.HasSuffix(fields[1], hexPort) && fields[3] == "0A" {
				return fields[9], nil
			}
		}
	}
	return "", fmt.Errorf("no socket listens on port %d", port)
}

// HoldsSocket reports whether pid has the socket with inode open.
func HoldsSocket(pid int, inode string) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := "socket:[" + inode + "]"
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == want {
			return true
		}
	}
	return false
}

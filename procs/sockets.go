package procs

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lnmp-init/lnmp-init/listen"
	"golang.org/x/sys/unix"
)

// Sockets returns the inodes of the sockets listening on a, read from the
// kernel's socket tables (/proc/net/tcp, tcp6, unix) of this process's
// network namespace. For TCP a socket counts when it listens on a's port at
// a's address or at a wildcard, which is what a bind to a would collide
// with; a's own address may stand for a wildcard too (see ParseTCP), so a
// socket on loopback counts for it.
func Sockets(a listen.Addr) ([]uint64, error) {
	if a.Network == "unix" {
		return unixSockets(a.Address)
	}
	host, portText, err := net.SplitHostPort(a.Address)
	if err != nil {
		return nil, fmt.Errorf("listening sockets on %s: %w", a, err)
	}
	port, err := net.LookupPort("tcp", portText)
	if err != nil {
		return nil, fmt.Errorf("listening sockets on %s: %w", a, err)
	}
	want := net.ParseIP(host) // nil for a hostname: any address matches
	matches := func(ip net.IP, p int) bool {
		return p == port && (want == nil || ip.IsUnspecified() || ip.Equal(want))
	}
	var inodes []uint64
	v4, err := tcpListeners(unix.AF_INET)
	if err != nil {
		return procTCPSockets(matches)
	}
	v6, _ := tcpListeners(unix.AF_INET6) // fails only without IPv6
	for _, l := range append(v4, v6...) {
		if matches(l.ip, l.port) {
			inodes = append(inodes, l.inode)
		}
	}
	return inodes, nil
}

// procTCPSockets reads /proc/net/tcp{,6} where sock_diag is not there.
func procTCPSockets(matches func(net.IP, int) bool) ([]uint64, error) {
	var inodes []uint64
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		found, err := procTCPListeners(filepath.Join("/proc", table), matches)
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // tcp6 is missing without IPv6
			return nil, err
		}
		inodes = append(inodes, found...)
	}
	return inodes, nil
}

// procTCPListeners reads one of /proc/net/tcp{,6}: lines of
// "sl local rem st ... inode", local as hex address:port, st 0A for LISTEN.
func procTCPListeners(path string, matches func(net.IP, int) bool) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var inodes []uint64
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 10 || fl[3] != "0A" {
			continue
		}
		ip, p, ok := parseHexAddr(fl[1])
		if !ok || !matches(ip, p) {
			continue
		}
		if inode, err := strconv.ParseUint(fl[9], 10, 64); err == nil {
			inodes = append(inodes, inode)
		}
	}
	return inodes, sc.Err()
}

// parseHexAddr reads the kernel's "0100007F:1F90": the address as 32-bit
// words in host (little-endian) order, the port in hex.
func parseHexAddr(s string) (net.IP, int, bool) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, false
	}
	raw, err := hex.DecodeString(addrHex)
	port, perr := strconv.ParseUint(portHex, 16, 16)
	if err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.IP(raw), int(port), true
}

// unixSockets reads /proc/net/unix: "Num RefCount Protocol Flags Type St
// Inode Path", Flags 00010000 (__SO_ACCEPTCON) for a listening socket.
func unixSockets(path string) ([]uint64, error) {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var inodes []uint64
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 8 || fl[7] != path {
			continue
		}
		if flags, err := strconv.ParseUint(fl[3], 16, 32); err != nil || flags&0x10000 == 0 {
			continue
		}
		if inode, err := strconv.ParseUint(fl[6], 10, 64); err == nil {
			inodes = append(inodes, inode)
		}
	}
	return inodes, sc.Err()
}

// HoldsAny reports whether the process pid has one of inodes open. A
// process that is gone, or whose descriptors cannot be read, holds none.
func HoldsAny(pid int, inodes []uint64) bool {
	if len(inodes) == 0 {
		return false
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if inode, ok := socketInode(link); ok && slices.Contains(inodes, inode) {
			return true
		}
	}
	return false
}

// socketInode reads a descriptor's link target "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok || !strings.HasSuffix(s, "]") {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	return n, err == nil
}

// Holders lists every visible process that holds one of inodes open. A
// socket held only by processes of another PID namespace has none.
func Holders(inodes []uint64) []int {
	if len(inodes) == 0 {
		return nil
	}
	entries, _ := os.ReadDir("/proc") // an error leaves no holder found
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && HoldsAny(pid, inodes) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Ownership is who holds the listening sockets on one address.
type Ownership struct {
	Addr      listen.Addr
	Listening bool  // a socket listens there
	Ours      bool  // one of the processes asked about holds it
	Others    []int // the other visible processes that hold one
}

// Owned tells who holds the listening sockets on a: one of ours, or other
// processes, which are looked for only when none of ours does.
func Owned(a listen.Addr, ours []int) (Ownership, error) {
	inodes, err := Sockets(a)
	if err != nil {
		return Ownership{Addr: a}, err
	}
	o := Ownership{Addr: a, Listening: len(inodes) > 0}
	for _, pid := range ours {
		if HoldsAny(pid, inodes) {
			o.Ours = true
			return o, nil
		}
	}
	o.Others = Holders(inodes)
	return o, nil
}

// Foreign describes a socket someone else listens on, naming its holders
// where they can be seen.
func (o Ownership) Foreign() error {
	if len(o.Others) == 0 {
		return fmt.Errorf("%s is held by a process lnmp-init cannot see (outside its PID namespace)", o.Addr)
	}
	var who []string
	for _, pid := range o.Others {
		cmd := Cmdline(pid)
		if cmd == "" {
			cmd = "?"
		}
		who = append(who, fmt.Sprintf("pid %d (%s)", pid, cmd))
	}
	return fmt.Errorf("%s is held by %s, which lnmp-init did not start", o.Addr, strings.Join(who, ", "))
}

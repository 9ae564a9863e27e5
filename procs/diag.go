package procs

import (
	"encoding/binary"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// tcpListener is one listening TCP socket as the kernel reports it.
type tcpListener struct {
	ip    net.IP
	port  int
	inode uint64
}

// Sizes and values of the sock_diag netlink protocol (linux/inet_diag.h,
// linux/netlink.h), which x/sys/unix does not define.
const (
	nlmsgHdrLen     = 16
	inetDiagReqLen  = 56
	inetDiagMsgLen  = 72
	tcpListenState  = 10 // TCP_LISTEN
	nlmsgDone       = 3
	nlmsgError      = 2
	nlmFRequestDump = unix.NLM_F_REQUEST | unix.NLM_F_DUMP
)

// tcpListeners asks the kernel for every listening TCP socket of family
// (AF_INET, AF_INET6) over sock_diag, as `ss -lt` does. The kernel filters
// by state, so a host with many connections (/proc/net/tcp lists each)
// answers as fast as one with none.
func tcpListeners(family uint8) ([]tcpListener, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	req := make([]byte, nlmsgHdrLen+inetDiagReqLen)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], nlmFRequestDump)
	binary.NativeEndian.PutUint32(req[8:], 1) // sequence number
	r := req[nlmsgHdrLen:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], 1<<tcpListenState)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag request: %w", err)
	}
	var out []tcpListener
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag answer: %w", err)
		}
		for b := buf[:n]; len(b) >= nlmsgHdrLen; {
			size := int(binary.NativeEndian.Uint32(b[0:]))
			if size < nlmsgHdrLen || size > len(b) {
				return nil, fmt.Errorf("sock_diag answer: bad message length %d", size)
			}
			switch typ := binary.NativeEndian.Uint16(b[4:]); typ {
			case nlmsgDone:
				return out, nil
			case nlmsgError:
				errno := int32(binary.NativeEndian.Uint32(b[nlmsgHdrLen:]))
				return nil, fmt.Errorf("sock_diag: %w", unix.Errno(-errno))
			case unix.SOCK_DIAG_BY_FAMILY:
				if l, ok := parseDiagMsg(b[nlmsgHdrLen:size]); ok {
					out = append(out, l)
				}
			}
			b = b[(size+3)&^3:]
		}
	}
}

// parseDiagMsg reads an inet_diag_msg: family, state, timer, retrans, then
// the socket id (source port and address in network order), and the inode
// at offset 68.
func parseDiagMsg(m []byte) (tcpListener, bool) {
	if len(m) < inetDiagMsgLen {
		return tcpListener{}, false
	}
	id := m[4:]
	port := int(binary.BigEndian.Uint16(id[0:]))
	ip := net.IP(append([]byte(nil), id[4:20]...))
	if m[0] == unix.AF_INET {
		ip = ip[:4]
	}
	return tcpListener{ip: ip, port: port, inode: uint64(binary.NativeEndian.Uint32(m[68:]))}, true
}

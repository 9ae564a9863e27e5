package stack

import (
	"fmt"
	"os"
	"slices"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lnmp-init/lnmp-init/listen"
	"github.com/lnmp-init/lnmp-init/procs"
)

// freeAddrs is a Spec.Free for a child that listens on addrs (those of
// the config in force, read at each call).
//
// A crash can leave behind a process that holds the child's listening
// socket although it is no worker of the old master: a PHP exec() of a
// command that left the process group with setsid, say, which inherited
// the socket. No new master can bind while it lives, and a dial to the
// address would mistake it for a ready child. Every process below
// lnmp-init that holds one of the addresses, outside the process groups of
// the other running children, is such a leftover and is killed; a holder
// outside lnmp-init's tree is another program, which lnmp-init leaves
// alone and names.
func freeAddrs(log *zap.Logger, child string, addrs func() []listen.Addr) func(others []int) (bool, error) {
	return func(others []int) (bool, error) {
		table := procs.Snapshot()
		self := os.Getpid()
		busy := false
		for _, a := range addrs() {
			inodes, err := procs.Sockets(a)
			if err != nil {
				log.Warn("cannot read the socket tables; starting without checking the address", zap.String("child", child), zap.Error(err))
				return false, nil
			}
			if len(inodes) == 0 {
				continue
			}
			holders := procs.Holders(inodes)
			if len(holders) == 0 {
				return false, procs.Ownership{Addr: a, Listening: true}.Foreign()
			}
			for _, pid := range holders {
				p := table[pid]
				switch {
				case slices.Contains(others, p.PGid):
					return false, fmt.Errorf("%s is held by pid %d, of another child of lnmp-init: two programs listen on one address", a, pid)
				case !table.DescendsFrom(pid, self):
					return false, procs.Ownership{Addr: a, Listening: true, Others: []int{pid}}.Foreign()
				}
				log.Warn("killing a leftover process that holds the address", zap.String("child", child),
					zap.String("addr", a.String()), zap.Int("pid", pid), zap.String("command", procs.Cmdline(pid)))
				_ = unix.Kill(pid, unix.SIGKILL)
				busy = true
			}
		}
		return busy, nil
	}
}

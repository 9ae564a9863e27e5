package procs

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func unixNotify(c chan os.Signal) { signal.Notify(c, unix.SIGCHLD) }

// Command pause is the test cluster's sandbox ("pause") image: it sleeps
// until SIGTERM or SIGINT, then exits 0. scripts/k8s/up builds it static and
// puts it alone in a scratch image, since no registry can be reached.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}

// Command pause is the infra ("pause") container of the local stack: Nomad's
// docker driver starts one per bridge-mode group to hold the group's network
// namespace. It does nothing until it is told to stop.
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

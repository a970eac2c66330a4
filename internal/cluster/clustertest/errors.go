package clustertest

import (
	"net"
	"net/url"
	"os"
	"syscall"
)

// unreachable is the transport error a client meets when nothing listens.
func unreachable(component string) error {
	addr := map[string]string{"nomad": NomadAddr, "consul": ConsulAddr, "vault": VaultAddr}[component]
	return &url.Error{Op: "Get", URL: addr, Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
}

package devstack

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
)

// Ports are the TCP ports the stack listens on. Defaults are each agent's
// usual ones so that the agents' own CLIs work without flags.
type Ports struct {
	ConsulHTTP    int `json:"consul_http"`
	ConsulGRPC    int `json:"consul_grpc"`
	ConsulGRPCTLS int `json:"consul_grpc_tls"`
	ConsulServer  int `json:"consul_server"`
	ConsulSerfLAN int `json:"consul_serf_lan"`
	ConsulSerfWAN int `json:"consul_serf_wan"`
	ConsulDNS     int `json:"consul_dns"`
	Vault         int `json:"vault"`
	NomadHTTP     int `json:"nomad_http"`
	NomadRPC      int `json:"nomad_rpc"`
	NomadSerf     int `json:"nomad_serf"`
	Public        int `json:"traefik_public"`
	Internal      int `json:"traefik_internal"`
	Autoscaler    int `json:"autoscaler"`
}

// DefaultPorts are the ports used when no flag changes them.
func DefaultPorts() Ports {
	return Ports{
		ConsulHTTP: 8500, ConsulGRPC: 8502, ConsulGRPCTLS: 8503, ConsulServer: 8300, ConsulSerfLAN: 8301, ConsulSerfWAN: 8302, ConsulDNS: 8600,
		Vault:     8200,
		NomadHTTP: 4646, NomadRPC: 4647, NomadSerf: 4648,
		Public: 8000, Internal: 8001,
		Autoscaler: 8090,
	}
}

// named lists every port with what uses it, for the "port taken" message.
func (p Ports) named() map[string]int {
	return map[string]int{
		"consul http": p.ConsulHTTP, "consul grpc": p.ConsulGRPC, "consul grpc tls": p.ConsulGRPCTLS, "consul server rpc": p.ConsulServer,
		"consul serf lan": p.ConsulSerfLAN, "consul serf wan": p.ConsulSerfWAN, "consul dns": p.ConsulDNS,
		"vault": p.Vault, "vault cluster": p.Vault + 1,
		"nomad http": p.NomadHTTP, "nomad rpc": p.NomadRPC, "nomad serf": p.NomadSerf,
		"traefik public": p.Public, "traefik internal": p.Internal,
		"nomad-autoscaler": p.Autoscaler,
	}
}

// Validate rejects out-of-range and duplicate ports.
func (p Ports) Validate() error {
	seen := map[int]string{}
	names := sortedKeys(p.named())
	for _, name := range names {
		n := p.named()[name]
		if n <= 0 || n > 65535 {
			return fmt.Errorf("%s port %d is out of range", name, n)
		}
		if other, dup := seen[n]; dup {
			return fmt.Errorf("port %d is given to both %s and %s", n, other, name)
		}
		seen[n] = name
	}
	return nil
}

// checkPortsFree tries to listen on every port (TCP; UDP too for the ports
// Consul also serves over UDP) and names the ones in use.
func checkPortsFree(p Ports) error {
	var taken []string
	named := p.named()
	for _, name := range sortedKeys(named) {
		n := named[name]
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", n))
		if err != nil {
			taken = append(taken, fmt.Sprintf("%d (%s)", n, name))
			continue
		}
		l.Close()
		if strings.HasPrefix(name, "consul serf") || name == "consul dns" {
			if c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", n)); err != nil {
				taken = append(taken, fmt.Sprintf("%d/udp (%s)", n, name))
			} else {
				c.Close()
			}
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("port(s) already in use: %s; stop what holds them or choose other ports (see `stackctl dev up -h`)",
			strings.Join(taken, ", "))
	}
	return nil
}

// HostAddr finds this machine's address on the interface of the default
// route (or the first non-loopback interface). Consul, Nomad and the
// allocations meet there: inside an allocation's network namespace,
// 127.0.0.1 is the allocation itself, so the agents must not be on loopback
// only.
func HostAddr() (iface string, ip string, err error) {
	name := defaultRouteIface()
	ifs, err := net.Interfaces()
	if err != nil {
		return "", "", err
	}
	pick := func(ifc net.Interface) string {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				return n.IP.String()
			}
		}
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Name == name {
			if ip := pick(ifc); ip != "" {
				return ifc.Name, ip, nil
			}
		}
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || isVirtual(ifc.Name) {
			continue
		}
		if ip := pick(ifc); ip != "" {
			return ifc.Name, ip, nil
		}
	}
	return "", "", errors.New("no non-loopback IPv4 address found; set one with --bind-addr")
}

// IfaceOf returns the interface that holds ip.
func IfaceOf(ip string) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.String() == ip {
				return ifc.Name, nil
			}
		}
	}
	return "", fmt.Errorf("no interface of this machine has address %s", ip)
}

func isVirtual(name string) bool {
	for _, p := range []string{"docker", "nomad", "veth", "cni", "br-", "virbr"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func defaultRouteIface() string {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 2 && fs[1] == "00000000" && fs[0] != "Iface" {
			return fs[0]
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

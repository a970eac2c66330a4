package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

// Allocations in bridge mode share one Linux bridge. Left alone, any of
// them can open a connection straight to another one's address and port,
// past its Connect sidecar, its mTLS and its intentions. The stack closes
// that path on the host: a new connection into the bridge is let through
// only when it was addressed to a port Nomad published on the node (the
// CNI portmap plugin DNATs it). stackctl's jobs publish nothing but the
// sidecars' mTLS listeners; the applications' own ports stay unpublished,
// so they are reachable from their own sidecar (loopback inside the
// allocation) and from the node itself (Consul's health checks), nothing
// else. docs/security.md lists the same rules for a production client.
const (
	// Nomad's bridge and the subnet it takes its addresses from: the
	// defaults, written into Nomad's config so they are ours to rely on.
	bridgeName    = "nomad"
	bridgeSubnet  = "172.26.64.0/20"
	bridgeGateway = "172.26.64.1"

	isolationChain = "STACKCTL-ISOLATION"
	// NOMAD-ADMIN is the CNI firewall plugin's admin chain as Nomad names
	// it: the plugin never flushes it, it is where operators' rules go.
	nomadAdminChain = "NOMAD-ADMIN"
	dockerUserChain = "DOCKER-USER"
)

// isolationRules make up isolationChain; traffic returns from the chain to
// be accepted by the rules after the jump, or is refused at once (a reset,
// not a timeout, so a probe or a misconfigured app learns it immediately).
var isolationRules = [][]string{
	{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"},
	{"-m", "conntrack", "--ctstate", "DNAT", "-j", "RETURN"},
	{"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
	{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"},
}

// isolationJumps are the chains that send bridge-bound traffic through
// isolationChain: FORWARD itself, and the two chains Docker and the CNI
// plugin reserve for operators, which neither ever flushes (whichever of
// them comes first in FORWARD after a restart, the rule is met).
var isolationJumps = []string{"FORWARD", dockerUserChain, nomadAdminChain}

// ensureBridge creates Nomad's bridge with its gateway address before any
// agent starts, so that Consul can listen on that address: the one address
// the sidecars inside allocations reach it on that is not also on the LAN.
// created reports whether the bridge is new (dev down removes it then).
func ensureBridge(ctx context.Context) (created bool, err error) {
	if _, err := net.InterfaceByName(bridgeName); err != nil {
		if err := ipCmd(ctx, "link", "add", "name", bridgeName, "type", "bridge"); err != nil {
			return false, err
		}
		created = true
	}
	// A bridge whose address nobody set takes the lowest address of its
	// ports, so it changes when the allocation holding that port stops.
	// Every other allocation then sends its replies to a gateway address
	// that no longer exists until its ARP entry is probed again (about 5 s:
	// the kernel's delay_first_probe_time): each rollout or scale-in would
	// cut every service on the node off for seconds. A fixed address does
	// not move.
	if err := ipCmd(ctx, "link", "set", "dev", bridgeName, "address", bridgeMAC); err != nil {
		return created, err
	}
	prefix := strings.SplitN(bridgeSubnet, "/", 2)[1]
	if err := ipCmd(ctx, "addr", "replace", bridgeGateway+"/"+prefix, "dev", bridgeName); err != nil {
		return created, err
	}
	return created, ipCmd(ctx, "link", "set", bridgeName, "up")
}

// bridgeMAC is the bridge's fixed hardware address: locally administered
// (0a:58, as CNI's bridge plugin derives one) followed by the gateway's
// IPv4 address, so it is the same on every run and every node.
var bridgeMAC = func() string {
	ip := net.ParseIP(bridgeGateway).To4()
	return fmt.Sprintf("0a:58:%02x:%02x:%02x:%02x", ip[0], ip[1], ip[2], ip[3])
}()

func ipCmd(ctx context.Context, args ...string) error {
	if b, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

// bridgeNetfilter is the switch that makes bridged traffic between
// allocations pass through iptables at all.
const bridgeNetfilter = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// ensureIsolation installs isolationChain and its jumps; it is idempotent.
func ensureIsolation(ctx context.Context) error {
	if _, err := os.Stat(bridgeNetfilter); err != nil {
		_ = exec.CommandContext(ctx, "modprobe", "br_netfilter").Run()
	}
	if err := os.WriteFile(bridgeNetfilter, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("cannot route bridged traffic through iptables (%s): %w; without it allocations reach each other past their sidecars", bridgeNetfilter, err)
	}
	if !chainExists(ctx, isolationChain) {
		if err := iptables(ctx, "-N", isolationChain); err != nil {
			return err
		}
	}
	// Rewrite the chain's rules whole: an older or partial set is replaced.
	if err := iptables(ctx, "-F", isolationChain); err != nil {
		return err
	}
	for _, r := range isolationRules {
		if err := iptables(ctx, append([]string{"-A", isolationChain}, r...)...); err != nil {
			return err
		}
	}
	for _, chain := range isolationJumps {
		if chain != "FORWARD" && !chainExists(ctx, chain) {
			if err := iptables(ctx, "-N", chain); err != nil {
				return err
			}
			if chain == dockerUserChain {
				// Docker expects its user chain to end by returning.
				if err := iptables(ctx, "-A", chain, "-j", "RETURN"); err != nil {
					return err
				}
			}
		}
		jump := []string{chain, "-o", bridgeName, "-j", isolationChain}
		if iptables(ctx, append([]string{"-C"}, jump...)...) == nil {
			continue
		}
		if err := iptables(ctx, "-I", chain, "1", "-o", bridgeName, "-j", isolationChain); err != nil {
			return err
		}
	}
	return nil
}

// removeIsolation deletes the jumps and the chain (dev down).
func removeIsolation(ctx context.Context) error {
	var errs []error
	for _, chain := range isolationJumps {
		jump := []string{chain, "-o", bridgeName, "-j", isolationChain}
		for iptables(ctx, append([]string{"-C"}, jump...)...) == nil {
			if err := iptables(ctx, append([]string{"-D"}, jump...)...); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	if chainExists(ctx, isolationChain) {
		if err := iptables(ctx, "-F", isolationChain); err != nil {
			errs = append(errs, err)
		} else if err := iptables(ctx, "-X", isolationChain); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func chainExists(ctx context.Context, chain string) bool {
	return exec.CommandContext(ctx, "iptables", "-w", "-n", "-L", chain).Run() == nil
}

func iptables(ctx context.Context, args ...string) error {
	if b, err := exec.CommandContext(ctx, "iptables", append([]string{"-w"}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

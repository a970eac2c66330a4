package devstack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Nomad's CNI plugins add NAT rules per allocation: the portmap plugin's
// DNAT from each host port to the allocation's address (a CNI-DN-* chain
// and the rules that jump to it from CNI-HOSTPORT-DNAT) and the bridge
// plugin's masquerade (a CNI-<hash> chain jumped to from POSTROUTING). Each
// carries the comment `name: "nomad" id: "<allocation>"`. Nomad removes
// them when it stops an allocation, but not when the node goes down with
// allocations still placed (`dev down`, a reboot, a killed agent). The
// portmap plugin appends its rules, so a stale DNAT for a host port that a
// later allocation gets wins over the new one and sends its traffic to an
// address nobody has: "no route to host" for the sidecar's checks until
// the deployment gives up.

// cniRuleComment is how `iptables -S` prints the network name in those
// comments.
const cniRuleComment = `name: \"` + bridgeName + `\"`

// cniChain matches the per-allocation chains of the portmap (CNI-DN-<hash>)
// and bridge (CNI-<hash>) plugins; not their shared chains.
var cniChain = regexp.MustCompile(`^CNI-(DN-)?[0-9a-f]{16,}$`)

// removeCNIRules deletes every NAT rule Nomad's CNI plugins added for the
// bridge network, and the per-allocation chains left without a reference.
// Only for a node where no Nomad client of the stack runs (dev up before
// Nomad starts, dev down after it stopped): the rules of running
// allocations would go too. removed counts the rules deleted.
func removeCNIRules(ctx context.Context) (removed int, err error) {
	const table = "nat"
	rules, err := iptablesRules(ctx, table)
	if err != nil {
		return 0, err
	}
	var errs []error
	for chain, nums := range cniRuleNumbers(rules) {
		// From the bottom, so that the numbers above stay valid.
		for i := len(nums) - 1; i >= 0; i-- {
			if err := iptables(ctx, "-t", table, "-D", chain, strconv.Itoa(nums[i])); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	if rules, err = iptablesRules(ctx, table); err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	for _, chain := range orphanCNIChains(rules) {
		for _, op := range []string{"-F", "-X"} {
			if err := iptables(ctx, "-t", table, op, chain); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return removed, errors.Join(errs...)
}

func iptablesRules(ctx context.Context, table string) (string, error) {
	b, err := exec.CommandContext(ctx, "iptables", "-w", "-t", table, "-S").Output()
	if err != nil {
		return "", fmt.Errorf("iptables -t %s -S: %w", table, err)
	}
	return string(b), nil
}

// cniRuleNumbers returns, per chain, the numbers (1-based, ascending) of
// the rules in `iptables -S` output that carry the bridge network's CNI
// comment.
func cniRuleNumbers(rules string) map[string][]int {
	out := map[string][]int{}
	seen := map[string]int{}
	for _, line := range strings.Split(rules, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" {
			continue
		}
		seen[f[1]]++
		if strings.Contains(line, cniRuleComment) {
			out[f[1]] = append(out[f[1]], seen[f[1]])
		}
	}
	return out
}

// orphanCNIChains returns the per-allocation CNI chains of `iptables -S`
// output that no rule jumps to.
func orphanCNIChains(rules string) []string {
	var chains []string
	referenced := map[string]bool{}
	for _, line := range strings.Split(rules, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "-N" && cniChain.MatchString(f[1]) {
			chains = append(chains, f[1])
		}
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "-j" || f[i] == "-g" {
				referenced[f[i+1]] = true
			}
		}
	}
	chains = slices.DeleteFunc(chains, func(c string) bool { return referenced[c] })
	slices.Sort(chains)
	return chains
}

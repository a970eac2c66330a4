#!/bin/sh
# host-init (docker-compose.dev.yml): Nomad's bridge, created before Consul
# starts so that Consul can listen on its gateway address (where the
# Connect sidecars inside allocations reach it), and the firewall rules that
# keep allocations from reaching each other past their sidecars. The same
# as `stackctl dev up` (internal/devstack/isolation.go, which a unit test
# compares with this file); docs/security.md explains the rules.
# Idempotent. `stackctl dev compose down` removes them again.
# shellcheck source=images/compose/lib.sh
. /stackctl/lib.sh

bridge=nomad
gateway=172.26.64.1/20
chain=STACKCTL-ISOLATION

nf=/proc/sys/net/bridge/bridge-nf-call-iptables
[ -e "$nf" ] || die "$nf is missing: load br_netfilter on the host (modprobe br_netfilter); without it allocations reach each other past their sidecars"
echo 1 >"$nf"

ip link show "$bridge" >/dev/null 2>&1 || ip link add name "$bridge" type bridge
# A fixed hardware address: left unset, the bridge takes its lowest port's,
# which changes when that allocation stops and cuts the others off from
# their gateway until ARP probes again (isolation.go, ensureBridge).
ip link set dev "$bridge" address 0a:58:ac:1a:40:01
ip addr replace "$gateway" dev "$bridge"
ip link set "$bridge" up

ipt() { iptables -w "$@"; }
# isolate -C|-A: checks or appends the chain's rules, in order. Traffic
# returns from the chain to be accepted by the rules after the jump, or is
# refused at once (a reset, not a timeout).
isolate() {
	ipt "$1" STACKCTL-ISOLATION -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN &&
		ipt "$1" STACKCTL-ISOLATION -m conntrack --ctstate DNAT -j RETURN &&
		ipt "$1" STACKCTL-ISOLATION -p tcp -j REJECT --reject-with tcp-reset &&
		ipt "$1" STACKCTL-ISOLATION -j REJECT --reject-with icmp-port-unreachable
}
ipt -n -L "$chain" >/dev/null 2>&1 || ipt -N "$chain"
# Rewritten whole unless exactly these rules are in place (an `up` of a
# running stack leaves them without a gap).
if [ "$(ipt -S "$chain" | grep -c '^-A')" -ne 4 ] || ! isolate -C 2>/dev/null; then
	ipt -F "$chain"
	isolate -A
fi

# FORWARD itself and the chains Docker and the CNI plugins keep for
# operators (never flushed by them): whichever comes first, the rule is met.
for from in FORWARD DOCKER-USER NOMAD-ADMIN; do
	if [ "$from" != FORWARD ] && ! ipt -n -L "$from" >/dev/null 2>&1; then
		ipt -N "$from"
		if [ "$from" = DOCKER-USER ]; then
			ipt -A "$from" -j RETURN
		fi
	fi
	ipt -C "$from" -o "$bridge" -j "$chain" 2>/dev/null || ipt -I "$from" 1 -o "$bridge" -j "$chain"
done
log "bridge $bridge ($gateway) up; allocations reach each other only through their sidecars"

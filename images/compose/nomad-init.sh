#!/bin/sh
# nomad-init (docker-compose.dev.yml): Nomad's ACL bootstrap with a
# management token of our making, the policies of policies/nomad/ and the
# tokens of the deployer, the autoscaler and the node drain `down` runs:
# what `stackctl dev up` does (internal/devstack/nomad.go). Idempotent.
# shellcheck source=images/compose/lib.sh
. /stackctl/lib.sh
export NOMAD_ADDR=http://127.0.0.1:4646
private_dir "$S" "$S/nomad" "$S/autoscaler"
mgmt=$S/nomad-management.token

valid() { [ -s "$1" ] && NOMAD_TOKEN=$(cat "$1") nomad acl token self >/dev/null 2>&1; }

# The bootstrap token is read from a file (`nomad acl bootstrap FILE`);
# right after the election Nomad may refuse it, so retry.
bootstrap() {
	if out=$(nomad acl bootstrap "$mgmt.new" 2>&1 >/dev/null); then
		mv -f "$mgmt.new" "$mgmt"
		log "ACLs bootstrapped"
		return 0
	fi
	case $out in
	*"already done"*)
		die "Nomad's ACLs were bootstrapped, but not with the management token in the credential directory (nomad-management.token): Nomad keeps its state in its data directory; stop the stack and remove that directory (stackctl dev compose down does both)"
		;;
	esac
	return 1
}
leader() { nomad operator api /v1/status/leader 2>/dev/null | grep -q :; }
retry 60 leader || die "Nomad elected no leader within 60 s"
if valid "$mgmt"; then
	log "ACLs already bootstrapped with our management token"
else
	tr -d '\n' </proc/sys/kernel/random/uuid | put "$mgmt.new"
	retry 60 bootstrap || die "no ACL bootstrap after 60 s: $out"
fi
NOMAD_TOKEN=$(cat "$mgmt")
export NOMAD_TOKEN

# A node drained by an earlier `down` (its state survives in the data
# directory) takes allocations again.
eligible() {
	retry 30 eval 'nomad node eligibility -self -enable >/dev/null 2>&1' || die "Nomad's client node did not register within 30 s"
}
policy() { nomad acl policy apply -description "stackctl dev stack (compose)" "$1" "$2" >/dev/null; }

# mint FILE NAME POLICY: keeps the token in FILE while Nomad knows it, else
# creates a client token.
mint() {
	valid "$1" && return 0
	nomad acl token create -name="$2" -policy="$3" -t '{{ .SecretID }}' | tr -d '\n' | put "$1"
	[ -s "$1" ] || die "nomad acl token create $2: no SecretID"
}
# The deployers' namespace admits the docker driver only: a raw_exec or
# exec task would run the deployer's code on the node.
namespace() {
	printf '%s\n' 'name = "default"' 'description = "deployers jobs: containers only"' \
		'capabilities {' '  enabled_task_drivers = ["docker"]' '}' >/tmp/default-namespace.hcl &&
		nomad namespace apply /tmp/default-namespace.hcl >/dev/null
}
acls() {
	namespace || die "namespace default not restricted to the docker driver"
	together "policy deployer /policies/nomad/deployer.hcl" "policy autoscaler /policies/nomad/autoscaler.hcl" \
		"policy node-drain /etc/stackctl/node-drain.hcl" || die "policies not written"
	together "mint $S/deployer-nomad.token 'stackctl deployer' deployer" \
		"mint $S/nomad/drain.token 'node drain (compose down)' node-drain" \
		"mint $S/autoscaler/nomad.token nomad-autoscaler autoscaler" || die "tokens not minted"
}
# The client node registers a moment after the server's election.
together eligible acls || exit 1

# The autoscaler reads its token from its configuration only.
{
	echo "nomad {"
	hcl_token "$S/autoscaler/nomad.token"
	echo "}"
} | put "$S/autoscaler/autoscaler.hcl"
log "policies and tokens in place"

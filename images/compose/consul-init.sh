#!/bin/sh
# consul-init (docker-compose.dev.yml): Consul's ACL bootstrap, the
# policies of policies/consul/, the tokens of the agent, Nomad, the
# deployer and Traefik, Traefik's registration and the mesh's default-deny
# entry: what `stackctl dev up` does (internal/devstack/consul.go).
# Idempotent: a token already in /secrets that Consul still knows is kept.
# shellcheck source=images/compose/lib.sh
. /stackctl/lib.sh
export CONSUL_HTTP_ADDR=http://127.0.0.1:8500
private_dir "$S" "$S/nomad" "$S/traefik"
mgmt=$S/consul-management.token

# Consul answers "no cluster leader" until its server has elected itself.
bootstrap() {
	if out=$(consul acl bootstrap -format=json 2>&1); then
		printf '%s' "$out" | json_field SecretID | put "$mgmt"
		[ -s "$mgmt" ] || die "consul acl bootstrap printed no SecretID"
		log "ACLs bootstrapped"
		return 0
	fi
	case $out in
	*"no longer allowed"*)
		CONSUL_HTTP_TOKEN_FILE=$mgmt consul acl token read -self >/dev/null 2>&1 ||
			die "Consul's ACLs were bootstrapped, but not with the management token in the credential directory (consul-management.token): Consul keeps its state in memory, so recreate it: docker compose -f docker-compose.dev.yml up -d --force-recreate consul"
		log "ACLs already bootstrapped with our management token"
		return 0
		;;
	esac
	return 1
}
retry 60 bootstrap || die "no ACL bootstrap after 60 s: $out"
export CONSUL_HTTP_TOKEN_FILE="$mgmt"

# policy NAME: policies/consul/NAME.hcl, created or updated.
policy() {
	consul acl policy create -name "$1" -description "stackctl dev stack (compose)" -rules "@/policies/consul/$1.hcl" >/dev/null 2>&1 ||
		consul acl policy update -name "$1" -rules "@/policies/consul/$1.hcl" >/dev/null
}
together "policy consul-agent" "policy nomad-agent" "policy deployer" || die "policies not written"

# mint FILE ARGS...: keeps the token in FILE while Consul knows it, else
# creates one with ARGS.
mint() {
	file=$1
	shift
	if [ -s "$file" ] && CONSUL_HTTP_TOKEN_FILE=$file consul acl token read -self >/dev/null 2>&1; then
		return 0
	fi
	out=$(consul acl token create -format=json "$@")
	printf '%s' "$out" | json_field SecretID | put "$file"
	[ -s "$file" ] || die "consul acl token create $*: no SecretID"
}
# Traefik is the Connect-native service "traefik": a service identity, as
# Nomad derives for it on a cluster (jobs/platform/traefik.nomad.hcl).
together "mint $S/consul-agent.token -description 'consul agent' -policy-name consul-agent" \
	"mint $S/nomad/consul.token -description 'nomad agent' -policy-name nomad-agent" \
	"mint $S/deployer-consul.token -description 'stackctl deployer' -policy-name deployer" \
	"mint $S/traefik/consul.token -description traefik -service-identity traefik" || die "tokens not minted"

# Nomad reads its Consul token from its configuration only.
{
	echo "consul {"
	hcl_token "$S/nomad/consul.token"
	echo "}"
} | put "$S/nomad/consul.hcl"

together "consul acl set-agent-token agent @$S/consul-agent.token >/dev/null" \
	"CONSUL_HTTP_TOKEN_FILE=$S/traefik/consul.token consul services register /etc/stackctl/traefik-service.hcl >/dev/null" \
	"consul config write /policies/consul/default-deny.hcl >/dev/null" || die "agent token, Traefik's registration or the mesh's default deny not written"
log "policies and tokens in place; Traefik registered; mesh default deny"

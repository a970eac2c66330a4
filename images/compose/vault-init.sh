#!/bin/sh
# vault-init (docker-compose.dev.yml): Vault initialised through its API
# with one key share and unsealed, KV v2 at secret/, the policies of
# policies/vault/, the nomad-cluster token role (stackctl-* policies only)
# and the tokens of Nomad and the deployer: what `stackctl dev up` does
# (internal/devstack/vault.go). Idempotent.
# shellcheck source=images/compose/lib.sh
. /stackctl/lib.sh
export VAULT_ADDR=http://127.0.0.1:8200
private_dir "$S" "$S/nomad"
root=$S/vault-root.token
key=$S/vault-unseal.key

# `vault operator init -status`: 0 initialised, 2 not, 1 no answer.
initialised() {
	rc=0
	vault operator init -status >/dev/null 2>&1 || rc=$?
	[ "$rc" -ne 1 ]
}
retry 60 initialised || die "Vault did not answer on $VAULT_ADDR within 60 s"

# `vault status`: 0 unsealed, 2 sealed. A fresh Vault is sealed.
sealed=1
if [ "$rc" -eq 2 ]; then
	out=$(vault operator init -key-shares=1 -key-threshold=1 -format=json)
	printf '%s' "$out" | sed -n '/"unseal_keys_b64"/{n;s/^ *"\([^"]*\)".*/\1/p;}' | tr -d '\n' | put "$key"
	printf '%s' "$out" | json_field root_token | put "$root"
	if [ ! -s "$key" ] || [ ! -s "$root" ]; then
		die "vault operator init printed no unseal key or root token"
	fi
	log "initialised (one key share)"
elif [ ! -s "$key" ] || [ ! -s "$root" ]; then
	die "Vault is initialised, but its unseal key and root token are not in the credential directory: Vault keeps its data in memory, so recreate it: docker compose -f docker-compose.dev.yml up -d --force-recreate vault"
elif vault status >/dev/null 2>&1; then
	sealed=0
fi

# The key goes in the request body from its file (key=@FILE).
if [ "$sealed" -eq 1 ]; then
	vault write sys/unseal key=@"$key" >/dev/null
	log "unsealed"
fi

# The root token works once Vault is unsealed and active.
VAULT_TOKEN=$(cat "$root")
export VAULT_TOKEN
retry 30 eval 'vault token lookup >/dev/null 2>&1' || die "the root token in the credential directory is not valid for this Vault (or Vault is still sealed)"

kv() {
	if ! out=$(vault secrets enable -path=secret -version=2 -description="application secrets (stackctl secrets put)" kv 2>&1); then
		case $out in
		*"path is already in use"*) ;;
		*) die "vault secrets enable kv at secret/: $out" ;;
		esac
	fi
	# KV v2 refuses writes until it has upgraded its (empty) storage.
	retry 30 eval 'vault read secret/config >/dev/null 2>&1' || die "KV v2 at secret/ did not become ready"
}
# policy FILE: a policy named after its file.
policy() {
	name=${1##*/}
	vault policy write "${name%.hcl}" "$1" >/dev/null
}
# A job may ask only for the policies stackctl writes per service.
role() {
	vault write auth/token/roles/nomad-cluster allowed_policies_glob='stackctl-*' \
		disallowed_policies=nomad-server,deployer,root token_explicit_max_ttl=0 \
		orphan=true token_period=72h renewable=true >/dev/null
}
# mint FILE ARGS...: keeps the token in FILE while Vault knows it, else
# creates an orphan token with ARGS (a token may name policies written
# at the same time).
mint() {
	file=$1
	shift
	if [ -s "$file" ] && VAULT_TOKEN=$(cat "$file") vault token lookup >/dev/null 2>&1; then
		return 0
	fi
	vault token create -orphan -field=token "$@" | tr -d '\n' | put "$file"
	[ -s "$file" ] || die "vault token create $*: no token"
}
set --
for f in /policies/vault/*.hcl; do
	set -- "$@" "policy $f"
done
together kv role "$@" \
	"mint $S/nomad/vault.token -policy=nomad-server -period=72h -display-name=nomad-server" \
	"mint $S/deployer-vault.token -policy=deployer -period=72h -display-name=stackctl-deployer -no-default-policy" ||
	die "KV v2, policies, the nomad-cluster role or tokens not written"

# Nomad (1.6, legacy token flow) reads its Vault token from its configuration.
{
	echo "vault {"
	hcl_token "$S/nomad/vault.token"
	echo "}"
} | put "$S/nomad/vault.hcl"
log "KV v2 at secret/, policies, the nomad-cluster role and tokens in place"

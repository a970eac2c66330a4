# Vault policy for whoever runs stackctl: write the per-service policies
# and JWT roles stackctl renders (all named stackctl-<service>), check that
# the secrets a descriptor names exist without reading their values, and
# store secret values (`stackctl secrets put`) without reading them back.
#
# Assumes the KV v2 mount "secret" and the JWT auth mount "jwt-nomad" (the
# stack.hcl defaults); change the paths for others.

path "sys/policies/acl/stackctl-*" {
  capabilities = ["create", "read", "update", "delete"]
}

path "sys/policies/acl" {
  capabilities = ["list"]
}

# Nomad >= 1.7: the workload-identity role of each service.
path "auth/jwt-nomad/role/stackctl-*" {
  capabilities = ["create", "read", "update", "delete"]
}

# Secret metadata: existence, versions and keys' presence, not values.
path "secret/metadata/*" {
  capabilities = ["read", "list"]
}

# Values are written, never read back (`secrets get --reveal` needs an
# operator's token). `patch` changes one key of a secret without reading
# the others (KV v2 JSON merge patch).
path "secret/data/*" {
  capabilities = ["create", "update", "patch"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

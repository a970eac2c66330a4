# Vault policy for whoever runs `stackctl deploy`: it writes the per-service
# policies stackctl renders and checks that the secrets a descriptor names
# exist, without being able to read their values.

# Manage ACL policies...
path "sys/policies/acl/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# ...except the platform's own, which would let it raise its privileges.
path "sys/policies/acl/nomad-server" {
  capabilities = ["deny"]
}

path "sys/policies/acl/deployer" {
  capabilities = ["deny"]
}

path "sys/policies/acl/root" {
  capabilities = ["deny"]
}

# Secret metadata only (KV v2 at secret/): existence and versions, not values.
path "secret/metadata/*" {
  capabilities = ["read", "list"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

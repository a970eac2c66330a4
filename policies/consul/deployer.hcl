# Consul ACL policy of whoever runs stackctl for a stack: write the
# intentions of the services it deploys (and, through Nomad, register them:
# Nomad checks the submitter's Consul token for `service` write), take the
# per-service deploy locks, read the catalog and health for `status`.
#
# The platform's own identities are read-only here: a deployer may not
# register as Traefik nor change who may call it. Nomad 1.6 checks a job's
# Consul token with a simplified reading of policies in which a
# service_prefix grants every name under it, so on a shared cluster give
# each team a prefix of its own (service_prefix "shop-") rather than "".
# docs/security.md explains why.

service_prefix "" {
  policy     = "write"
  intentions = "write"
}

service "traefik" {
  policy     = "read"
  intentions = "read"
}

service "nomad-autoscaler" {
  policy     = "read"
  intentions = "read"
}

service "nomad" {
  policy     = "read"
  intentions = "read"
}

service "nomad-client" {
  policy     = "read"
  intentions = "read"
}

# The mesh's default-deny entry (Name = "*") is the operator's.
service "*" {
  policy     = "read"
  intentions = "read"
}

node_prefix "" {
  policy = "read"
}

# Nomad 1.6 refuses a job with a `template` (stackctl renders one for
# Vault secrets) unless the submitter's token may read all of Consul's KV
# store, since a template could read it: read only, and the store holds
# nothing secret in a stackctl platform.
key_prefix "" {
  policy = "read"
}

# Deploy locks: one key and one session per service being deployed.
key_prefix "stackctl/deploy-locks/" {
  policy = "write"
}

session_prefix "" {
  policy = "write"
}

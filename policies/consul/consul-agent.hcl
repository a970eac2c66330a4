# Consul ACL policy of the Consul agent's own token: register its node and
# keep its node checks; read services to sync them.

node_prefix "" {
  policy = "write"
}

service_prefix "" {
  policy = "read"
}

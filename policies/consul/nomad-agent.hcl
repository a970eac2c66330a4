# Consul ACL policy of the Nomad agents (server and client share one token
# in the dev stack). The client registers every allocation's services and
# checks; the servers create each Connect sidecar's Service Identity token
# (Nomad 1.6's legacy flow), which needs `acl = "write"`: this token is as
# powerful as Consul's management token and never leaves Nomad's 0600
# config file.

acl = "write"

agent_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

service_prefix "" {
  policy = "write"
}

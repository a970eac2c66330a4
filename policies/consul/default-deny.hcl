# Mesh default-deny (`consul config write policies/consul/default-deny.hcl`): with
# ACLs off Consul allows all Connect traffic; this wildcard intention denies
# every source to every destination. Each allowed pair then needs its own
# intention (stackctl renders them per service, including traefik -> service
# for exposed services). Intentions are checked when a connection opens.
Kind = "service-intentions"
Name = "*"
Sources = [
  {
    Name   = "*"
    Action = "deny"
  }
]

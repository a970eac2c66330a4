# The example "shop" system: shared settings for every service in jobs/.
#
#   web     public front end           https://shop.localhost/
#   api     public JSON API            https://shop.localhost/api/...
#   orders  operators only             internal entrypoint, orders.shop.localhost
#   kv      internal datastore         reachable only through the mesh

stack {
  name          = "shop"
  datacenters   = ["dc1"]
  domain        = "shop.localhost"
  vault_mount   = "secret"
  nomad_version = var.nomad_version

  # No Envoy on the dev machine: Consul's built-in proxy is the sidecar.
  sidecar {
    kind = var.sidecar
  }
}

variable "nomad_version" {
  type        = string
  default     = "1.6"
  description = "Version of the target Nomad cluster (1.6 uses Vault tokens, 1.7+ workload identities)."
}

variable "sidecar" {
  type        = string
  default     = "builtin"
  description = "Connect sidecar: envoy, or Consul's builtin proxy where Envoy is not installed."
}

variable "image" {
  type        = string
  default     = "stackctl-demo:1.0.0"
  description = "The demo application image every example service runs."
}

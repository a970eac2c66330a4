# Imported from ../../examples/compose/compose.yaml by stackctl import compose.
stack {
  name   = "demo"
  domain = "demo.localhost"

  sidecar {
    kind = var.sidecar
  }
}

variable "sidecar" {
  type        = string
  default     = "envoy"
  description = "Connect sidecar: envoy, or builtin (Consul's built-in proxy) where Envoy is not installed, as on the dev stack."
}

# Imported from testdata/canary/compose.yaml by stackctl import compose.
stack {
  name   = "canary"
  domain = "canary.localhost"

  sidecar {
    kind = var.sidecar
  }
}

variable "sidecar" {
  type        = string
  default     = "envoy"
  description = "Connect sidecar: envoy, or builtin (Consul's built-in proxy) where Envoy is not installed, as on the dev stack."
}

# Imported from testdata/webapp/compose.yaml by stackctl import compose.
stack {
  name   = "shop"
  domain = "shop.localhost"

  sidecar {
    kind = var.sidecar
  }
}

variable "sidecar" {
  type        = string
  default     = "envoy"
  description = "Connect sidecar: envoy, or builtin (Consul's built-in proxy) where Envoy is not installed, as on the dev stack."
}

variable "web_image" {
  type        = string
  default     = "shop-web:dev"
  description = "The image of web, which compose builds from \".\": build, tag and push it, then pass -var web_image=REGISTRY/IMAGE:TAG."
}

variable "worker_image" {
  type        = string
  default     = "shop-worker:dev"
  description = "The image of worker, which compose builds from \".\": build, tag and push it, then pass -var worker_image=REGISTRY/IMAGE:TAG."
}

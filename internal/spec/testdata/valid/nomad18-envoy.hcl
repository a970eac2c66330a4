# A Nomad 1.8 cluster with Envoy sidecars and a private registry: Vault
# access goes through workload identities and a JWT auth role.
stack {
  name          = "payments"
  region        = "eu"
  datacenters   = ["eu-west-1a", "eu-west-1b"]
  namespace     = "payments"
  domain        = "pay.example.com"
  registry      = "registry.example.com/payments"
  nomad_version = "1.8.2"
}

variable "ledger_replicas" {
  type    = number
  default = 3
}

service "gateway" {
  image   = "gateway:2.3.1"
  command = "/bin/gateway"
  args    = ["--listen", ":8443", "--upstream", "${upper("ledger")}"]

  port "https" {
    container_port = 8443
  }

  port "metrics" {
    container_port = 9102
  }

  resources {
    cpu        = 500
    memory     = 256
    memory_max = 512
  }

  health {
    path = "/ready"
    port = "metrics"
  }

  secret "TLS_KEY" {
    path = "payments/gateway"
    key  = "tls.key"
  }

  upstream "ledger" {
    local_port = 7000
    env        = "LEDGER_URL_HOSTPORT"
  }

  expose "public" {
    path_prefix   = "/pay"
    tls           = true
    cert_resolver = "letsencrypt"
  }

  expose "internal" {
  }
}

service "ledger" {
  image    = "ledger@sha256:4f2c1a7d0e3b5c6a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a"
  replicas = var.ledger_replicas

  port "grpc" {
    container_port = 7000
    protocol       = "tcp"
  }

  port "metrics" {
    container_port = 9102
  }

  health {
    path = "/healthz"
    port = "metrics"
  }

  update {
    canary       = 1
    auto_promote = false
  }

  secret "DB_URL" {
    path = "payments/ledger"
    key  = "db-url"
  }

  autoscale {
    min            = 2
    max            = 10
    memory_percent = 75
    cooldown       = "2m"
  }
}

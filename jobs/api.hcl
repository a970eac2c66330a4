# The public JSON API under shop.localhost/api. Traefik strips the prefix,
# so the service itself serves /.
service "api" {
  image    = var.image
  replicas = 2

  port "http" {
    container_port = 8080
  }

  resources {
    cpu    = 100
    memory = 64
  }

  health {
    path     = "/healthz"
    interval = "5s"
    timeout  = "1s"
  }

  update {
    max_parallel = 1
    canary       = 1
  }

  env = {
    SERVICE_NAME = "api"
  }

  secret "API_SIGNING_KEY" {
    path = "shop/api"
    key  = "signing_key"
  }

  upstream "orders" {
    local_port = 9002
  }

  upstream "kv" {
    local_port = 9003
  }

  expose "public" {
    host         = "shop.localhost"
    path_prefix  = "/api"
    strip_prefix = true
  }

  autoscale {
    min                 = 1
    max                 = 4
    cpu_percent         = 60
    evaluation_interval = "10s"
    cooldown            = "30s"
  }
}

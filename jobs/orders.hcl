# Order management for operators: served on the internal entrypoint only
# (loopback on the edge), never on the public one.
service "orders" {
  image = var.image

  port "http" {
    container_port = 8080
  }

  resources {
    cpu    = 100
    memory = 64
  }

  health {
    path = "/healthz"
  }

  env = {
    SERVICE_NAME = "orders"
  }

  secret "KV_PASSWORD" {
    path = "shop/kv"
    key  = "password"
  }

  upstream "kv" {
    local_port = 9003
  }

  expose "internal" {
    host = "orders.shop.localhost"
  }
}

# A datastore-like dependency: no exposure at all, reachable only by the
# services that declare it as an upstream (api and orders).
service "kv" {
  image = var.image

  port "kv" {
    container_port = 8080
    protocol       = "tcp"
  }

  resources {
    cpu    = 100
    memory = 64
  }

  # Nomad runs no tcp checks on Connect services: the demo store answers
  # HTTP health checks on its port (a real store would expose an admin or
  # metrics port for this).
  health {
    path     = "/healthz"
    interval = "5s"
    timeout  = "1s"
  }

  restart {
    attempts = 3
    delay    = "10s"
    mode     = "delay"
  }

  env = {
    SERVICE_NAME = "kv"
  }

  secret "KV_PASSWORD" {
    path = "shop/kv"
    key  = "password"
  }
}

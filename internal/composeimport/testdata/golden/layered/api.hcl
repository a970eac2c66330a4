# Imported from compose service "api" by stackctl import compose.
# expose: compose publishes the port on loopback only, so it is served on the internal entrypoint (loopback on the edge).
service "api" {
  image    = "registry.example.com/team/api:1.4.2"
  replicas = 3

  port "http" {
    container_port = 9090
  }

  health {
    path     = "/ready"
    interval = "10s"
  }

  env = {
    DEBUG_UI_URL = "http://debug-ui/"
    LOG_LEVEL    = "debug"
    TZ           = "UTC"
  }

  secret "STRIPE_API_KEY" {
    path = "layered/api"
    key  = "stripe_api_key"
  }

  # From ORDERS_ADDR, which the upstream sets.
  upstream "orders" {
    local_port = 9091
  }

  expose "internal" {
    host = "api.layered.localhost"
  }
}

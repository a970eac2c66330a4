# Imported from compose service "back" by stackctl import compose.
# expose: compose publishes the port on loopback only, so it is served on the internal entrypoint (loopback on the edge).
service "back" {
  image = "stackctl-demo:1.0.0"

  port "http" {
    container_port = 8080
  }

  env = {
    SERVICE_NAME = "back"
  }

  secret "BACK_TOKEN" {
    path = "demo/back"
    key  = "back_token"
  }

  # From depends_on, STORE_ADDR, which the upstream sets.
  upstream "store" {
    local_port = 9001
  }

  expose "internal" {
    host = "back.demo.localhost"
  }
}

# Imported from compose service "front" by stackctl import compose.
service "front" {
  image = "stackctl-demo:1.0.0"

  port "http" {
    container_port = 8080
  }

  env = {
    SERVICE_NAME = "front"
  }

  # From depends_on, BACK_ADDR, which the upstream sets.
  upstream "back" {
    local_port = 9001
  }

  expose "public" {
    host = "front.demo.localhost"
  }
}

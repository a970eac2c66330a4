# Imported from compose service "store" by stackctl import compose.
service "store" {
  image = "stackctl-demo:1.0.0"

  port "http" {
    container_port = 8080
  }

  env = {
    SERVICE_NAME = "store"
  }

  secret "STORE_PASSWORD" {
    path = "demo/store"
    key  = "store_password"
  }
}

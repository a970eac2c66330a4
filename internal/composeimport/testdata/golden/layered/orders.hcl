# Imported from compose service "orders" by stackctl import compose.
service "orders" {
  image = "registry.example.com/team/orders:2.0.1"

  port "http" {
    container_port = 9091
  }

  health {
    path     = "/ready"
    interval = "10s"
  }

  env = {
    SERVICE_NAME = "orders"
    TZ           = "UTC"
  }
}

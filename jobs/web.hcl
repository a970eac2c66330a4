# The public front end: serves shop.localhost and calls the API through the
# mesh on a local port.
service "web" {
  image = var.image

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

  env = {
    SERVICE_NAME = "web"
    LOG_LEVEL    = "info"
  }

  upstream "api" {
    local_port = 9001
  }

  expose "public" {
    host = "shop.localhost"
  }

  autoscale {
    min            = 1
    max            = 3
    cpu_percent    = 70
    memory_percent = 80
  }
}

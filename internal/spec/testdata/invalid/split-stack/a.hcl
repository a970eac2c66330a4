stack {
  name = "shop"
}

service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
}

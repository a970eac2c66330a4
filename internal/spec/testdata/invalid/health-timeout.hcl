service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    type     = "http"
    path     = "/healthz"
    interval = "5s"
    timeout  = "10s"
    #          ^ Invalid health check timeout
  }
}

service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
  port "http" {
  #    ^ Duplicate port
    container_port = 8081
  }
  upstream "api" {
  #        ^ Invalid upstream
    local_port = 9001
  }
  health {
    path = "/healthz"
    port = "metrics"
    #      ^ Unknown health check port
  }
}

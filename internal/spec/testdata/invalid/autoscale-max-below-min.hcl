service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
  autoscale {
    min         = 5
    max         = 2
    #             ^ Invalid autoscale bounds
    cpu_percent = 70
  }
}

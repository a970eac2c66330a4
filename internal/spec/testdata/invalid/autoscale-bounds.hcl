service "api" {
  image    = "api:1.0.0"
  replicas = 6
  #          ^ Replicas outside autoscaling bounds
  port "http" {
    container_port = 8080
  }
  autoscale {
    min         = 1
    max         = 4
    cpu_percent = 70
  }
}

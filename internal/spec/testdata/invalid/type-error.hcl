service "api" {
  image    = "api:1.0.0"
  replicas = "three"
  #          ^ Invalid replicas
  port "http" {
    container_port = 70000
    #                ^ Invalid container_port
  }
}

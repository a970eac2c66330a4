service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  upstream "ordrs" {
  #        ^ Unknown upstream service
    local_port = 9001
  }
}

service "orders" {
  image = "orders:1.0.0"
  port "http" {
    container_port = 8080
  }
}

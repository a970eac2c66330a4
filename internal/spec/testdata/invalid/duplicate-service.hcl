service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
}

service "web" {
#       ^ Duplicate service
  image = "web:2.0.0"
  port "http" {
    container_port = 8080
  }
}

service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080 8081
    #                     ^ Missing newline after argument
  }
}

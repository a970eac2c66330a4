service "web" {
#             ^ Missing required argument
  imag = "web:1.0.0"
# ^ Unsupported argument
  port "http" {
    container_port = 8080
  }
}

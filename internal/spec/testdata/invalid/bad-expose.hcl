service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  expose "publik" {
  #      ^ Invalid entrypoint
    host = "web.example.com"
  }
  expose "internal" {
    host        = "https://admin.example.com"
    #             ^ Invalid host
    path_prefix = "admin/"
    #             ^ Invalid path_prefix
  }
}

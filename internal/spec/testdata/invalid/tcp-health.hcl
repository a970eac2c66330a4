service "kv" {
  image = "kv:1.0.0"
  port "kv" {
    container_port = 6379
    protocol       = "tcp"
  }
  health {
    type = "tcp"
    #      ^ tcp health check on a mesh service
  }
}

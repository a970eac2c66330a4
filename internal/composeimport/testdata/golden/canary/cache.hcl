# Imported from compose service "cache" by stackctl import compose.
service "cache" {
  image = "redis"

  port "redis" {
    container_port = 6380
    protocol       = "tcp"
  }
}

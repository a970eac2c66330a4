# Imported from compose service "redis" by stackctl import compose.
service "redis" {
  image = "redis:6.2.14-alpine"

  port "redis" {
    container_port = 6379
    protocol       = "tcp"
  }
}

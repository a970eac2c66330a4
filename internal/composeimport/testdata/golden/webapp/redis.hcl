# Imported from compose service "redis" by stackctl import compose.
service "redis" {
  image   = "redis:7-alpine"
  command = "redis-server"
  args    = ["--appendonly", "yes"]

  port "redis" {
    container_port = 6379
    protocol       = "tcp"
  }
}

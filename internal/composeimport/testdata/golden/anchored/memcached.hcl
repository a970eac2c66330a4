# Imported from compose service "memcached" by stackctl import compose.
service "memcached" {
  image   = "memcached:1.6.26-alpine"
  command = "memcached"
  args    = ["-c", "2500"]

  port "memcached" {
    container_port = 11211
    protocol       = "tcp"
  }
}

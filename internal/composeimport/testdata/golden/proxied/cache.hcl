# Imported from compose service "cache" by stackctl import compose.
service "cache" {
  image   = "memcached:1.6.29"
  command = "memcached"
  args    = ["-m", "64"]

  port "memcached" {
    container_port = 11211
    protocol       = "tcp"
  }
}

# Imported from compose service "postgres" by stackctl import compose.
service "postgres" {
  image   = "postgres:14.11"
  command = "postgres"
  args    = ["-c", "wal_level=logical"]

  port "postgres" {
    container_port = 5432
    protocol       = "tcp"
  }

  env = {
    POSTGRES_HOST_AUTH_METHOD = "trust"
  }
}

# Imported from compose service "db" by stackctl import compose.
service "db" {
  image = "postgres:16.4"

  port "postgres" {
    container_port = 5432
    protocol       = "tcp"
  }

  secret "POSTGRES_PASSWORD" {
    path = "canary/db_password"
    key  = "value"
  }
}

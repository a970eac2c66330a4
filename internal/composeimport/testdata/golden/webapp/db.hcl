# Imported from compose service "db" by stackctl import compose.
service "db" {
  image = "postgres:16-alpine"

  port "postgres" {
    container_port = 5432
    protocol       = "tcp"
  }

  env = {
    POSTGRES_DB   = "shop"
    POSTGRES_USER = "shop"
  }

  secret "POSTGRES_PASSWORD" {
    path = "shop/db"
    key  = "postgres_password"
  }
}

# Imported from compose service "worker" by stackctl import compose.
service "worker" {
  image   = var.worker_image
  command = "celery"
  args    = ["-A", "shop", "worker", "--loglevel", "info"]

  port "http" {
    container_port = 8080
  }

  env = {
    REDIS_URL = "redis://127.0.0.1:6379/0" # compose: redis://redis:6379/0
  }

  secret "DATABASE_URL" {
    path = "shop/web"
    key  = "database_url"
  }

  secret "SECRET_KEY" {
    path = "shop/web"
    key  = "secret_key"
  }

  # From depends_on, DATABASE_URL.
  upstream "db" {
    local_port = 5432
  }

  # From depends_on, REDIS_URL.
  upstream "redis" {
    local_port = 6379
  }
}

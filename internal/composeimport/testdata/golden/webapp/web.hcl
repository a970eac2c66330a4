# Imported from compose service "web" by stackctl import compose.
service "web" {
  image    = var.web_image
  command  = "gunicorn"
  args     = ["shop.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
  replicas = 2

  port "http" {
    container_port = 8000
  }

  resources {
    cpu        = 500
    memory     = 256
    memory_max = 512
  }

  health {
    path     = "/health/"
    interval = "15s"
    timeout  = "5s"
  }

  env = {
    ALLOWED_HOSTS = "*"
    DJANGO_DEBUG  = "false"
    REDIS_URL     = "redis://127.0.0.1:6379/0" # compose: redis://redis:6379/0
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

  expose "public" {
    host = "web.shop.localhost"
  }
}

# Imported from compose service "app" by stackctl import compose.
service "app" {
  image = "example.com/app:1.0.0"

  port "http" {
    container_port = 8080
  }

  env = {
    LOG_FORMAT = "json"
  }

  secret "ADMIN_PASSWORD" {
    path = "canary/app"
    key  = "admin_password"
  }

  secret "API_TOKEN" {
    path = "canary/app"
    key  = "api_token"
  }

  secret "CACHE_URL" {
    path = "canary/app"
    key  = "cache_url"
  }

  secret "DATABASE_URL" {
    path = "canary/app"
    key  = "database_url"
  }

  secret "DB_PASSWORD" {
    path = "canary/db_password"
    key  = "value"
  }

  secret "SESSION_SECRET" {
    path = "canary/app"
    key  = "session_secret"
  }

  # From CACHE_URL.
  upstream "cache" {
    local_port = 6380
  }

  # From DATABASE_URL.
  upstream "db" {
    local_port = 5432
  }

  expose "public" {
    host = "app.canary.localhost"
  }
}

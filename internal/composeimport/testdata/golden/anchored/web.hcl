# Imported from compose service "web" by stackctl import compose.
service "web" {
  image = "getsentry/sentry:24.8.0"

  port "http" {
    container_port = 9000
  }

  port "port_9001" {
    container_port = 9001
  }

  env = {
    SENTRY_CONF = "/etc/sentry"
    SNUBA       = "http://127.0.0.1:1218" # compose: http://snuba-api:1218
  }

  secret "SENTRY_SECRET_KEY" {
    path = "anchored/cron"
    key  = "sentry_secret_key"
  }

  # From depends_on.
  upstream "memcached" {
    local_port = 11211
  }

  # From depends_on.
  upstream "postgres" {
    local_port = 5432
  }

  # From depends_on.
  upstream "redis" {
    local_port = 6379
  }

  # From SNUBA.
  upstream "snuba-api" {
    local_port = 1218
  }

  expose "public" {
    host = "web.anchored.localhost"
  }
}

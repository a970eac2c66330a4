# Imported from compose service "snuba-api" by stackctl import compose.
service "snuba-api" {
  image = "getsentry/snuba:24.8.0"

  port "http" {
    container_port = 1218
  }

  env = {
    CLICKHOUSE_HOST = "127.0.0.1" # compose: clickhouse
    REDIS_HOST      = "127.0.0.1" # compose: redis
    REDIS_PORT      = "6379"
    SNUBA_SETTINGS  = "self_hosted"
  }

  # From CLICKHOUSE_HOST.
  upstream "clickhouse" {
    local_port = 9000
  }

  # From REDIS_HOST.
  upstream "redis" {
    local_port = 6379
  }
}

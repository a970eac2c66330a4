# Imported from compose service "api" by stackctl import compose.
service "api" {
  image = "ghcr.io/acme/api:2.3.1"

  port "http" {
    container_port = 8080
  }

  health {
    path     = "/healthz"
    interval = "30s"
    timeout  = "3s"
  }

  env = {
    CACHE_HOST = "127.0.0.1" # compose: cache
    CACHE_PORT = "11211"
  }

  secret "JWT_SECRET" {
    path = "proxied/jwt_secret"
    key  = "value"
  }

  # From CACHE_HOST.
  upstream "cache" {
    local_port = 11211
  }

  expose "public" {
    host          = "acme.example.com"
    path_prefix   = "/api"
    strip_prefix  = true
    tls           = true
    cert_resolver = "le"
  }
}

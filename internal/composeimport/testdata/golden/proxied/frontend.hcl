# Imported from compose service "frontend" by stackctl import compose.
service "frontend" {
  image = "ghcr.io/acme/frontend:2.3.1"

  port "http" {
    container_port = 3000
  }

  env = {
    INTERNAL_API_URL = "http://127.0.0.1:8080/v1" # compose: http://api:8080/v1
    PUBLIC_API_URL   = "https://acme.example.com/api"
  }

  # From depends_on, INTERNAL_API_URL.
  upstream "api" {
    local_port = 8080
  }

  expose "public" {
    host          = "acme.example.com"
    tls           = true
    cert_resolver = "le"
  }
}

stack {
  vault_mount = "kv"
}

service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
  secret "DB_PASSWORD" {
    path = "kv/data/shop/db"
    #      ^ Invalid Vault secret path
    key  = "password"
  }
}

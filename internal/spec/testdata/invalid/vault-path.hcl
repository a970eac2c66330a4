service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
  secret "DB_PASSWORD" {
    path = "data/shop/db"
    #      ^ Invalid Vault secret path
    key = "password"
  }
  secret "API_KEY" {
    path = "/shop/api/"
    #      ^ Invalid Vault secret path
    key = "key with spaces"
    #     ^ Invalid Vault secret key
  }
}

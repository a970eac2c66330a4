service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  expose "public" {
# ^ Duplicate route
    host = "shop.example.com"
  }
}

service "shop" {
  image = "shop:1.0.0"
  port "http" {
    container_port = 8080
  }
  expose "public" {
    host = "shop.example.com"
  }
}

service "kv" {
  image = "kv:1.0.0"
  port "kv" {
    container_port = 6379
    protocol       = "tcp"
  }
  expose "internal" {
# ^ Exposure of a tcp port
    host = "kv.internal"
  }
}

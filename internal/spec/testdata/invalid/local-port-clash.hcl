service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  upstream "api" {
    local_port = 9001
  }
  upstream "kv" {
    local_port = 9001
    #            ^ Local port clash
  }
}

service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
}

service "kv" {
  image = "kv:1.0.0"
  port "kv" {
    container_port = 8080
    protocol       = "tcp"
  }
}

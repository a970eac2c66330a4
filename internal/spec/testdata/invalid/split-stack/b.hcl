  # Indented so the marker's caret can reach the block's first column.
  stack {
# ^ Duplicate stack block
    domain = "example.com"
  }

service "web" {
#       ^ Duplicate service
  image = "web:2.0.0"
  port "http" {
    container_port = 8080
  }
}

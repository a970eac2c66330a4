service "Web_App" {
#       ^ Invalid service name
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  env = {
    "1BAD" = "x"
  # ^ Invalid environment variable name
    NOMAD_FOO = "y"
  # ^ Invalid environment variable name
  }
}

service "traefik" {
#       ^ Invalid service name
  image = "traefik:3.6.12"
  port "http" {
    container_port = 80
  }
}

service "api" {
  image = "api:1.0.0"
  args  = [for a in ["x"] : [for b in ["y"] : [for c in ["z"] : c]]]
  #                                           ^ For expressions nested too deep
  port "http" {
    container_port = 8080
  }
}

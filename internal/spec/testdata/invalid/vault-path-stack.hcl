# A stack reads only the secrets below its own name: shop/...
stack {
  name = "shop"
}

service "api" {
  image = "api:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  secret "OWN" {
    path = "shop/api"
    key  = "k"
  }
  secret "OTHER_STACK" {
    path = "billing/api"
    #      ^ Invalid Vault secret path
    key  = "k"
  }
  secret "PARENT" {
    path = "../billing/api"
    #      ^ Invalid Vault secret path
    key  = "k"
  }
  secret "THROUGH_PARENT" {
    path = "shop/../billing/api"
    #      ^ Invalid Vault secret path
    key  = "k"
  }
  secret "EMPTY_SEGMENT" {
    path = "shop//api"
    #      ^ Invalid Vault secret path
    key  = "k"
  }
  secret "ABSOLUTE" {
    path = "/billing/api"
    #      ^ Invalid Vault secret path
    key  = "k"
  }
  secret "BARE_PREFIX" {
    path = "shop"
    #      ^ Invalid Vault secret path
    key  = "k"
  }
}

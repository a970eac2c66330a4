# A hand-written pair of services wired the way stackctl's compiler wires
# them (Consul's built-in proxy as a docker sidecar_task, Traefik tags on
# the service), to test the stack itself independently of the compiler.
#   ithello   public route Host(hello.itest.localhost)
#   itclient  public route Host(client.itest.localhost), upstream ithello on 9091

variable "consul_http_addr" {
  description = "Consul's HTTP API as seen from inside an allocation."
  type        = string
}

variable "proxy_image" {
  description = "The built-in proxy's image (consul as the entrypoint)."
  type        = string
  default     = "stackctl-consul-proxy:1.14.11"
}

variable "image" {
  type    = string
  default = "stackctl-demo:1.0.0"
}

job "itmesh" {
  datacenters = ["*"]

  group "ithello" {
    network {
      mode = "bridge"
    }

    service {
      name = "ithello"
      port = "8080"
      tags = [
        "traefik.enable=true",
        "traefik.consulcatalog.connect=true",
        "traefik.http.routers.ithello.rule=Host(`hello.itest.localhost`)",
        "traefik.http.routers.ithello.entrypoints=public",
      ]

      connect {
        sidecar_service {}
        sidecar_task {
          driver = "docker"
          config {
            image = var.proxy_image
            args = [
              "connect", "proxy",
              "-http-addr=${var.consul_http_addr}",
              "-token-file=${NOMAD_SECRETS_DIR}/si_token",
              "-service=ithello",
              "-service-addr=127.0.0.1:8080",
              "-listen=0.0.0.0:${NOMAD_PORT_connect_proxy_ithello}",
            ]
          }
        }
      }

      check {
        type         = "http"
        path         = "/healthz"
        port         = "8080"
        address_mode = "alloc"
        interval     = "2s"
        timeout      = "1s"
      }
    }

    update {
      min_healthy_time = "1s"
    }

    task "app" {
      driver = "docker"
      config {
        image = var.image
      }
      env {
        SERVICE_NAME = "ithello"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }

  group "itclient" {
    network {
      mode = "bridge"
    }

    service {
      name = "itclient"
      port = "8080"
      tags = [
        "traefik.enable=true",
        "traefik.consulcatalog.connect=true",
        "traefik.http.routers.itclient.rule=Host(`client.itest.localhost`)",
        "traefik.http.routers.itclient.entrypoints=public",
      ]

      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "ithello"
              local_bind_port  = 9091
            }
          }
        }
        sidecar_task {
          driver = "docker"
          config {
            image = var.proxy_image
            args = [
              "connect", "proxy",
              "-http-addr=${var.consul_http_addr}",
              "-token-file=${NOMAD_SECRETS_DIR}/si_token",
              "-service=itclient",
              "-service-addr=127.0.0.1:8080",
              "-listen=0.0.0.0:${NOMAD_PORT_connect_proxy_itclient}",
              "-upstream=ithello:9091",
            ]
          }
        }
      }

      check {
        type         = "http"
        path         = "/healthz"
        port         = "8080"
        address_mode = "alloc"
        interval     = "2s"
        timeout      = "1s"
      }
    }

    update {
      min_healthy_time = "1s"
    }

    task "app" {
      driver = "docker"
      config {
        image = var.image
      }
      env {
        SERVICE_NAME = "itclient"
        HELLO_ADDR   = "127.0.0.1:9091"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}

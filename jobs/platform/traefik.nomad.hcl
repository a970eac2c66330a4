# Traefik: the edge router of a stackctl platform. Services opt in with
# `traefik.enable=true` tags (stackctl renders them) and are reached through
# Consul Connect: Traefik is a Connect-native service named "traefik", so an
# intention traefik -> <service> is what exposes a service.
#
# Two entrypoints: "public" on every interface, "internal" on one address
# (loopback by default) for routes that must not face the outside.
#
# With Consul ACLs, Nomad gives the task a Service Identity token for
# "traefik" (CONSUL_HTTP_TOKEN): enough to read the catalog and hold
# Traefik's Connect certificate, nothing more. Traefik takes its Consul
# token only from its own configuration, never from CONSUL_HTTP_TOKEN, and
# a token on its command line would be visible to every user of the node:
# the configuration is therefore given as TRAEFIK_* environment variables
# (no command-line flags, which would take precedence over all of them) and
# a shell passes the token on.
#
# The same file runs the local dev stack (`stackctl dev up` passes the
# variables) and a real cluster: `nomad job run -var public_port=80 traefik.nomad.hcl`.
# With raw_exec the bare command "traefik" resolves through the Nomad
# client's PATH; on a cluster that prefers containers, swap the task for the
# docker driver and the official traefik image with the same args.

variable "namespace" {
  type    = string
  default = "platform"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "public_port" {
  type    = number
  default = 8000
}

variable "internal_port" {
  type    = number
  default = 8001
}

variable "internal_address" {
  description = "Address the internal entrypoint listens on."
  type        = string
  default     = "127.0.0.1"
}

variable "consul_http_addr" {
  description = "Consul HTTP API (host:port) as seen from the client node."
  type        = string
  default     = "127.0.0.1:8500"
}

variable "command" {
  type    = string
  default = "traefik"
}

job "traefik" {
  namespace   = var.namespace
  datacenters = var.datacenters
  type        = "system"

  group "traefik" {
    network {
      port "public" {
        static = var.public_port
      }
      port "internal" {
        static = var.internal_port
      }
    }

    service {
      name = "traefik"
      task = "traefik"
      port = "public"

      connect {
        native = true
      }

      # Traefik builds its first configuration only once it holds its Connect
      # leaf certificate. This router (to Traefik's own ping handler, on the
      # internal entrypoint only) therefore answers 200 exactly when the
      # Consul catalog routes are loaded: `stackctl dev up` waits for it.
      tags = [
        "traefik.enable=true",
        "traefik.http.routers.traefik-ready.rule=Path(`/traefik-ready`)",
        "traefik.http.routers.traefik-ready.entrypoints=internal",
        "traefik.http.routers.traefik-ready.service=ping@internal",
        # Traefik's read-only API, loopback only: what routes and servers
        # it holds right now (`curl -H 'Host: traefik.localhost'
        # 127.0.0.1:8001/api/http/services`).
        "traefik.http.routers.traefik-api.rule=Host(`traefik.localhost`) && PathPrefix(`/api`)",
        "traefik.http.routers.traefik-api.entrypoints=internal",
        "traefik.http.routers.traefik-api.service=api@internal",
      ]

      check {
        name     = "public entrypoint"
        type     = "tcp"
        port     = "public"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "traefik" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = [
          "-c",
          "TRAEFIK_PROVIDERS_CONSULCATALOG_ENDPOINT_TOKEN=\"$CONSUL_HTTP_TOKEN\" exec \"$0\"",
          var.command,
        ]
      }

      env {
        TRAEFIK_ENTRYPOINTS_PUBLIC_ADDRESS                 = ":${NOMAD_PORT_public}"
        TRAEFIK_ENTRYPOINTS_INTERNAL_ADDRESS               = "${var.internal_address}:${NOMAD_PORT_internal}"
        TRAEFIK_PROVIDERS_CONSULCATALOG                    = "true"
        TRAEFIK_PROVIDERS_CONSULCATALOG_ENDPOINT_ADDRESS   = var.consul_http_addr
        TRAEFIK_PROVIDERS_CONSULCATALOG_CONNECTAWARE       = "true"
        TRAEFIK_PROVIDERS_CONSULCATALOG_EXPOSEDBYDEFAULT   = "false"
        TRAEFIK_PROVIDERS_CONSULCATALOG_SERVICENAME        = "traefik"
        # Blocking queries: a service's route appears as soon as it is
        # healthy instead of at the next 15 s poll.
        TRAEFIK_PROVIDERS_CONSULCATALOG_WATCH              = "true"
        # A new configuration applies at most this long after the catalog
        # changed: stackctl's drain delay is derived from it
        # (internal/compile/drain.go, TraefikThrottle).
        TRAEFIK_PROVIDERS_PROVIDERSTHROTTLEDURATION        = "1s"
        TRAEFIK_PING                                       = "true"
        TRAEFIK_PING_ENTRYPOINT                            = "internal"
        TRAEFIK_API                                        = "true"
        TRAEFIK_API_DASHBOARD                              = "false"
        # One line per request naming the router and the server it went
        # to: the first thing to read when a route misbehaves.
        TRAEFIK_ACCESSLOG                                  = "true"
        TRAEFIK_GLOBAL_CHECKNEWVERSION                     = "false"
        TRAEFIK_GLOBAL_SENDANONYMOUSUSAGE                  = "false"
        TRAEFIK_LOG_LEVEL                                  = "INFO"
        # Nomad keeps the log in files: escape codes would only be noise.
        TRAEFIK_LOG_NOCOLOR                                = "true"
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}

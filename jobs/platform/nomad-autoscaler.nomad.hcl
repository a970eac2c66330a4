# Nomad Autoscaler: evaluates the `scaling` blocks stackctl renders into
# groups (nomad-apm metrics, target-value strategy) and scales the groups
# through the Nomad API.
#
# The same file runs the local dev stack (`stackctl dev up` passes the
# variables) and a real cluster. With raw_exec the bare command
# "nomad-autoscaler" resolves through the Nomad client's PATH.

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "nomad_port" {
  description = "Nomad HTTP port on the client's address."
  type        = number
  default     = 4646
}

variable "http_port" {
  description = "The autoscaler's own HTTP API (health, metrics)."
  type        = number
  default     = 8090
}

variable "evaluation_interval" {
  type    = string
  default = "10s"
}

variable "command" {
  type    = string
  default = "nomad-autoscaler"
}

job "nomad-autoscaler" {
  datacenters = var.datacenters
  type        = "service"

  group "autoscaler" {
    count = 1

    network {
      port "http" {
        static = var.http_port
      }
    }

    service {
      name = "nomad-autoscaler"
      port = "http"

      check {
        type     = "http"
        path     = "/v1/health"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "autoscaler" {
      driver = "raw_exec"

      config {
        command = var.command
        args = [
          "agent",
          "-nomad-address=http://${attr.unique.network.ip-address}:${var.nomad_port}",
          "-http-bind-address=${NOMAD_IP_http}",
          "-http-bind-port=${NOMAD_PORT_http}",
          "-policy-default-evaluation-interval=${var.evaluation_interval}",
          "-telemetry-collection-interval=1s",
          "-log-level=INFO",
        ]
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}

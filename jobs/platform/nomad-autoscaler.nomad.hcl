# Nomad Autoscaler: evaluates the `scaling` blocks stackctl renders into
# groups (nomad-apm metrics, target-value strategy) and scales the groups
# through the Nomad API.
#
# With Nomad ACLs the autoscaler needs a token with the policy in
# policies/nomad/autoscaler.hcl; the job reads it from the Nomad variable
# nomad/jobs/nomad-autoscaler (item "token") in its namespace, which only
# this job's workload identity may read:
#   nomad var put -namespace platform nomad/jobs/nomad-autoscaler token=...
#
# The same file runs the local dev stack (`stackctl dev up` passes the
# variables) and a real cluster. With raw_exec the bare command
# "nomad-autoscaler" resolves through the Nomad client's PATH.

variable "namespace" {
  type    = string
  default = "platform"
}

variable "target_namespace" {
  description = "The namespace of the services this autoscaler scales."
  type        = string
  default     = "default"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "nomad_addr" {
  description = "Nomad's HTTP API as the client node reaches it."
  type        = string
  default     = "http://127.0.0.1:4646"
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
  namespace   = var.namespace
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
      # The API listens on loopback only: register (and check) it there.
      address = "127.0.0.1"

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
          "-nomad-address=${var.nomad_addr}",
          # The namespace whose groups it scales, not its own (Nomad sets
          # NOMAD_NAMESPACE to the job's namespace, which the autoscaler
          # would use). Its nomad-apm source cannot work across namespaces:
          # run one autoscaler job per namespace of scaled services.
          "-nomad-namespace=${var.target_namespace}",
          "-http-bind-address=127.0.0.1",
          "-http-bind-port=${NOMAD_PORT_http}",
          "-policy-default-evaluation-interval=${var.evaluation_interval}",
          "-telemetry-collection-interval=1s",
          "-log-level=INFO",
        ]
      }

      # NOMAD_TOKEN, read by the autoscaler's Nomad client from its
      # environment; the file lives in the task's secrets dir.
      template {
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/nomad-autoscaler" }}NOMAD_TOKEN={{ .token }}{{ end }}
        EOT
        destination = "${NOMAD_SECRETS_DIR}/nomad.env"
        env         = true
        change_mode = "restart"
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}

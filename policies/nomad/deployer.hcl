# Nomad ACL policy of whoever runs stackctl plan/deploy/status/scale/
# rollback/destroy for a stack in namespace "default" (stack.hcl's
# `namespace`; copy this file per namespace). `stackctl dev up` mints the
# dev stack's deployer token from it.
#
# Nothing here reaches other namespaces (the platform's jobs run in
# "platform"), nodes, agents, ACLs or the operator API.

namespace "default" {
  capabilities = [
    "list-jobs",     # status: the stack's jobs
    "read-job",      # plan and status: job, versions, deployments, allocations, evaluations
    "submit-job",    # plan (Nomad's dry run), deploy, rollback (revert), destroy (stop)
    "read-logs",     # deploy names a crashed task by the end of its stderr; stackctl logs
    "alloc-exec",    # stackctl exec
    "alloc-lifecycle",
    "scale-job",     # stackctl scale
    "read-job-scaling",
    "list-scaling-policies",
    "read-scaling-policy",
  ]
}

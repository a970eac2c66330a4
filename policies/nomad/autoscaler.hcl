# Nomad ACL policy of the Nomad Autoscaler (jobs/platform/nomad-autoscaler.nomad.hcl):
# read the scaling policies stackctl renders into groups and the load of
# their allocations (the nomad-apm plugin), and change counts. It may not
# submit or stop jobs.

namespace "*" {
  policy       = "scale"
  capabilities = ["read-job", "list-jobs"]
}

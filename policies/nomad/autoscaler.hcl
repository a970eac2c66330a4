# Nomad ACL policy of the Nomad Autoscaler (jobs/platform/nomad-autoscaler.nomad.hcl):
# read the scaling policies stackctl renders into groups and the load of
# their allocations (the nomad-apm plugin), and change counts. It may not
# submit or stop jobs. One autoscaler serves one namespace (its nomad-apm
# source works within one): copy the rule per namespace it serves.

namespace "default" {
  policy       = "scale"
  capabilities = ["read-job", "list-jobs"]
}

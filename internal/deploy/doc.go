// Package deploy puts a compiled stack on the cluster and takes services
// off it: Plan compares the bundle with Nomad, Consul and Vault (plan*.go),
// Deploy applies a plan under per-service locks and follows the rollout
// (deploy.go, apply.go, lock.go), saved plans carry their configuration
// and are checked again before use (saved.go), and Destroy removes what a
// deploy wrote (destroy.go).
//
// The order is fixed so that a job never starts before what it needs:
// Vault policy (and JWT role) -> Consul intentions -> Nomad job. Every
// step is idempotent, so re-running after a failure converges. Nothing is
// changed that another stack or a person owns (owner.go). Nothing here
// ever reads a secret's value into output: plans check that secret keys
// exist, never what they hold.
package deploy

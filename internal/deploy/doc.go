// Package deploy plans and applies a compiled bundle against a real
// cluster (Nomad, Consul, Vault) and follows the rollout.
//
// The order is fixed so that a job never starts before what it needs:
// Vault policy (and JWT role) -> Consul intentions -> Nomad job. Every
// step is idempotent, so re-running after a failure converges. Nothing
// here ever reads a secret's value into output: plans check that secret
// keys exist, never what they hold.
package deploy

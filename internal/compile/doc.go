// Package compile turns a validated spec.Stack into the artifacts the
// HashiCorp stack runs: per service a Nomad job (built from the
// github.com/hashicorp/nomad/api types), a least-privilege Vault policy, the
// Consul service-intentions entry for its callers and, for Nomad >= 1.7, the
// Vault JWT role of its workload identity.
//
// Compile is pure: no I/O, no clock, no randomness, no map iteration leaking
// into output. The same stack always yields the same bundle, which is what
// makes golden files and "no changes" plans possible. depcheck_test.go keeps
// it that way.
package compile

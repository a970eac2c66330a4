// Package compile turns a validated stack (internal/descriptor) into the
// artifacts the HashiCorp stack runs: per service a Nomad job, a
// least-privilege Vault policy, the Consul service-intentions entry for its
// callers and, for Nomad >= 1.7, the Vault JWT role of its workload
// identity. The job and the entry are compile's own types (nomad.go,
// intentions.go), which mirror the Nomad and Consul API types field for
// field; internal/apimodel converts them.
//
// Compile is pure: no I/O, no clock, no randomness, no map iteration leaking
// into output. The same stack always yields the same bundle, which is what
// makes golden files and "no changes" plans possible. depcheck_test.go keeps
// it that way for everything compile imports: its import graph is the
// standard library and the descriptor model.
package compile

// Package render writes compiled artifacts as text: Nomad jobs as HCL (for
// `nomad job run`) and JSON (the /v1/jobs payload), Vault policies, Consul
// config entries, and diagnostics for people (with source snippets) or
// machines (JSON). Output is deterministic byte for byte.
package render

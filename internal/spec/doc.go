// Package spec reads stackctl descriptors: HCL files holding one `stack`
// block of shared settings, `variable` blocks and one `service` block per
// microservice. It decodes them into the Stack model (internal/descriptor,
// whose names model.go repeats here) and validates it, returning every
// problem at once as hcl.Diagnostics whose ranges point at the exact label
// or expression that is wrong.
//
// The flow is Parser.Load -> decode (decode_*.go) -> validate
// (validate.go). Nothing here talks to a cluster.
package spec

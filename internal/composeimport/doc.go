// Package composeimport turns a Docker Compose project into stackctl
// descriptors: one service file per compose service plus stack.hcl.
//
// The compose files are read with compose-spec/compose-go, the library
// docker compose itself uses, so -f merging, extends, include, profiles,
// interpolation and .env behave as they do there. What compose expresses
// and a descriptor can say is carried over (image, command, environment,
// replicas, resources, published ports as expose blocks, HTTP health
// probes, who calls whom as upstreams with the addresses rewritten,
// secrets as Vault references); everything else becomes a warning naming
// the compose file and line (the locator re-reads the YAML for positions,
// which the library does not keep). Secret values never leave memory.
//
// The compose project is untrusted input (a pull request, imported on the
// deployer's machine): files.go decides which files it may make the
// import read, and every message and printed command is kept free of
// file content and control characters (report.go).
//
// The flow: load (load.go, locate.go, files.go) -> convert (convert.go,
// environment.go, traefik.go, unsupported.go) -> write with hclwrite
// (write.go) -> validate with the real descriptor loader (import.go).
package composeimport

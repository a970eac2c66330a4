package spec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// The model Load returns lives in internal/descriptor, which the compiler
// imports without this package's reader; these names keep spec the one
// import for code that loads and inspects descriptors.
type (
	Stack     = descriptor.Stack
	Settings  = descriptor.Settings
	Version   = descriptor.Version
	Sidecar   = descriptor.Sidecar
	Variable  = descriptor.Variable
	Service   = descriptor.Service
	Port      = descriptor.Port
	Resources = descriptor.Resources
	Health    = descriptor.Health
	Restart   = descriptor.Restart
	Update    = descriptor.Update
	EnvVar    = descriptor.EnvVar
	Secret    = descriptor.Secret
	Upstream  = descriptor.Upstream
	Expose    = descriptor.Expose
	Autoscale = descriptor.Autoscale
	Range     = descriptor.Range
)

const (
	SidecarEnvoy       = descriptor.SidecarEnvoy
	SidecarBuiltin     = descriptor.SidecarBuiltin
	EntrypointPublic   = descriptor.EntrypointPublic
	EntrypointInternal = descriptor.EntrypointInternal
	AutoscaleWindow    = descriptor.AutoscaleWindow
)

// at is where the model records a range hcl reported.
func at(r hcl.Range) descriptor.Range {
	return descriptor.Range{Filename: r.Filename, Start: pos(r.Start), End: pos(r.End)}
}

func pos(p hcl.Pos) descriptor.Pos {
	return descriptor.Pos{Line: p.Line, Column: p.Column, Byte: p.Byte}
}

// hclRange is the hcl.Range of a range the model recorded, for a
// diagnostic's subject.
func hclRange(r descriptor.Range) hcl.Range {
	return hcl.Range{Filename: r.Filename, Start: hclPos(r.Start), End: hclPos(r.End)}
}

func hclPos(p descriptor.Pos) hcl.Pos { return hcl.Pos{Line: p.Line, Column: p.Column, Byte: p.Byte} }

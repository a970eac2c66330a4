package compile

import "github.com/stackctl/stackctl/internal/descriptor"

// Compile builds the bundle for a validated stack.
func Compile(st *descriptor.Stack) *Bundle {
	b := &Bundle{Settings: st.Settings}
	callers := st.Callers()
	for _, s := range st.Services {
		out := &Service{Name: s.Name, Job: nomadJob(st.Settings, s)}
		if len(s.Secrets) > 0 {
			out.VaultPolicy = Policy(st.Settings, s)
			out.VaultPolicy.Owner = OwnerOf(st.Settings, s.Name)
			if st.Settings.NomadVersion.AtLeast(1, 7) {
				out.VaultRole = Role(st.Settings, s)
				out.VaultPolicy.JWTAuthPath = out.VaultRole.AuthPath
			}
		}
		for _, sec := range s.Secrets {
			out.Secrets = append(out.Secrets, SecretRef{Env: sec.Env, Path: sec.Path, Key: sec.Key})
		}
		out.Intentions = Intentions(st.Settings, s, callers[s.Name])
		b.Services = append(b.Services, out)
	}
	return b
}

package kube

import (
	"github.com/stackctl/stackctl/internal/spec"
)

// The custom resources stackctl emits. Only the fields it sets are
// modelled; the json tags follow the upstream CRDs (External Secrets
// Operator's external-secrets.io/v1, Traefik's traefik.io/v1alpha1), and
// the integration test applies them against CRD schemas with
// fieldValidation=Strict.

// ExternalSecretObject is ESO's ExternalSecret: which Vault keys to copy
// into which Secret.
type ExternalSecretObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       ExternalSecretSpec `json:"spec"`
}

type ExternalSecretSpec struct {
	RefreshInterval string                `json:"refreshInterval,omitempty"`
	SecretStoreRef  SecretStoreRef        `json:"secretStoreRef"`
	Target          ExternalSecretTarget  `json:"target"`
	Data            []ExternalSecretDatum `json:"data"`
}

type SecretStoreRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

type ExternalSecretTarget struct {
	Name           string `json:"name"`
	CreationPolicy string `json:"creationPolicy,omitempty"`
}

type ExternalSecretDatum struct {
	SecretKey string    `json:"secretKey"`
	RemoteRef RemoteRef `json:"remoteRef"`
}

type RemoteRef struct {
	Key      string `json:"key"`
	Property string `json:"property,omitempty"`
}

// SecretStoreObject is ESO's namespaced SecretStore: how to reach Vault
// and as whom.
type SecretStoreObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       SecretStoreSpec `json:"spec"`
}

type SecretStoreSpec struct {
	Provider SecretStoreProvider `json:"provider"`
}

type SecretStoreProvider struct {
	Vault *VaultProvider `json:"vault"`
}

type VaultProvider struct {
	Server  string    `json:"server"`
	Path    string    `json:"path"`
	Version string    `json:"version"`
	Auth    VaultAuth `json:"auth"`
}

type VaultAuth struct {
	Kubernetes *VaultKubernetesAuth `json:"kubernetes"`
}

type VaultKubernetesAuth struct {
	MountPath         string            `json:"mountPath"`
	Role              string            `json:"role"`
	ServiceAccountRef ServiceAccountRef `json:"serviceAccountRef"`
}

type ServiceAccountRef struct {
	Name string `json:"name"`
}

// MiddlewareObject is Traefik's Middleware, used for strip_prefix (the
// Ingress API has no path rewrite of its own).
type MiddlewareObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       MiddlewareSpec `json:"spec"`
}

type MiddlewareSpec struct {
	StripPrefix *StripPrefixSpec `json:"stripPrefix"`
}

type StripPrefixSpec struct {
	Prefixes []string `json:"prefixes"`
}

// SecretName is the Secret ESO writes the service's secrets into, one key
// per environment variable.
func SecretName(s *spec.Service) string { return s.Name + "-secrets" }

func secretStoreName(s *spec.Service) string { return s.Name + "-vault" }

// SecretStore lets ESO log into Vault's Kubernetes auth as the service's
// own ServiceAccount, under a Vault role named after the service and bound
// to the policy the Nomad path renders (vault-policy.hcl): each service
// still reads only its own paths. A shared ClusterSecretStore would need
// one identity able to read every service's secrets.
func SecretStore(set spec.Settings, s *spec.Service) *SecretStoreObject {
	return &SecretStoreObject{
		TypeMeta:   TypeMeta{APIVersion: "external-secrets.io/v1", Kind: "SecretStore"},
		ObjectMeta: meta(set, secretStoreName(s), s.Name),
		Spec: SecretStoreSpec{Provider: SecretStoreProvider{Vault: &VaultProvider{
			Server:  VaultAddr,
			Path:    set.VaultMount,
			Version: "v2",
			Auth: VaultAuth{Kubernetes: &VaultKubernetesAuth{
				MountPath:         VaultKubernetesAuthPath,
				Role:              s.Name,
				ServiceAccountRef: ServiceAccountRef{Name: s.Name},
			}},
		}}},
	}
}

// ExternalSecret reads the same KV v2 paths and keys as the Nomad
// template, into a Secret keyed by the environment variable names.
func ExternalSecret(set spec.Settings, s *spec.Service) *ExternalSecretObject {
	es := &ExternalSecretObject{
		TypeMeta:   TypeMeta{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret"},
		ObjectMeta: meta(set, s.Name, s.Name),
		Spec: ExternalSecretSpec{
			RefreshInterval: SecretRefresh,
			SecretStoreRef:  SecretStoreRef{Name: secretStoreName(s), Kind: "SecretStore"},
			Target:          ExternalSecretTarget{Name: SecretName(s), CreationPolicy: "Owner"},
		},
	}
	for _, sec := range s.Secrets {
		es.Spec.Data = append(es.Spec.Data, ExternalSecretDatum{
			SecretKey: sec.Env,
			RemoteRef: RemoteRef{Key: sec.Path, Property: sec.Key},
		})
	}
	return es
}

// StripPrefix is the Traefik Middleware an exposure with strip_prefix
// refers to.
func StripPrefix(set spec.Settings, s *spec.Service, e *spec.Expose) *MiddlewareObject {
	return &MiddlewareObject{
		TypeMeta:   TypeMeta{APIVersion: "traefik.io/v1alpha1", Kind: "Middleware"},
		ObjectMeta: meta(set, stripName(e), s.Name),
		Spec:       MiddlewareSpec{StripPrefix: &StripPrefixSpec{Prefixes: []string{e.PathPrefix}}},
	}
}

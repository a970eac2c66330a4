package kube

import (
	"github.com/stackctl/stackctl/internal/spec"
)

// Traefik's Ingress annotations (its kubernetesIngress provider).
const (
	annEntrypoints  = "traefik.ingress.kubernetes.io/router.entrypoints"
	annMiddlewares  = "traefik.ingress.kubernetes.io/router.middlewares"
	annTLS          = "traefik.ingress.kubernetes.io/router.tls"
	annCertResolver = "traefik.ingress.kubernetes.io/router.tls.certresolver"
)

// labelMetadataName is the label Kubernetes gives every namespace, its
// name (corev1.LabelMetadataName).
const labelMetadataName = "kubernetes.io/metadata.name"

// NamespaceObject is the stack's namespace.
func NamespaceObject(set spec.Settings) *NamespaceManifest {
	return &NamespaceManifest{
		TypeMeta:   TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: ObjectMeta{Name: Namespace(set), Labels: labels(set, "")},
	}
}

// IngressClass: one per entrypoint, so that a Traefik instance (or one
// Traefik with both entrypoints) serves "internal" routes only where the
// internal entrypoint listens.
func IngressClass(set spec.Settings, entrypoint string) *IngressClassObject {
	return &IngressClassObject{
		TypeMeta:   TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "IngressClass"},
		ObjectMeta: ObjectMeta{Name: entrypoint, Labels: labels(set, "")},
		Spec:       IngressClassSpec{Controller: IngressController},
	}
}

// DefaultDeny selects every pod of the namespace for ingress and allows
// nothing: the counterpart of the mesh's "*" -> "*" deny intention. Each
// service's AllowPolicy then opens exactly its declared callers.
func DefaultDeny(set spec.Settings) *NetworkPolicyObject {
	return &NetworkPolicyObject{
		TypeMeta:   TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: ObjectMeta{Name: "default-deny-ingress", Namespace: Namespace(set), Labels: labels(set, "")},
		Spec: NetworkPolicySpec{
			PodSelector: LabelSelector{},
			PolicyTypes: []string{"Ingress"},
		},
	}
}

// AllowPolicy mirrors the service's intentions: its callers' pods (by
// label) and, when it is exposed, the ingress controller's namespace may
// open connections to its mesh port. nil when nobody may call it (the
// Nomad side then writes no intentions either; the default deny holds).
//
// The match is weaker than Consul's: a label is asserted by whoever may
// create pods in the namespace, an intention by the mTLS certificate of the
// caller's identity; NetworkPolicy also needs a CNI that enforces it.
func AllowPolicy(set spec.Settings, s *spec.Service, callers []string) *NetworkPolicyObject {
	exposed := len(s.Exposes) > 0
	if len(callers) == 0 && !exposed {
		return nil
	}
	port := []NetworkPolicyPort{{
		Protocol: ptr("TCP"),
		Port:     ptr(int32(s.MeshPort().Container)),
	}}
	np := &NetworkPolicyObject{
		TypeMeta:   TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: meta(set, s.Name+"-allow", s.Name),
		Spec: NetworkPolicySpec{
			PodSelector: LabelSelector{MatchLabels: selector(s.Name)},
			PolicyTypes: []string{"Ingress"},
		},
	}
	if len(callers) > 0 {
		np.Spec.Ingress = append(np.Spec.Ingress, NetworkPolicyIngressRule{
			From: []NetworkPolicyPeer{{PodSelector: &LabelSelector{
				MatchExpressions: []LabelSelectorRequirement{{
					Key:      LabelName,
					Operator: "In",
					Values:   append([]string(nil), callers...),
				}},
			}}},
			Ports: port,
		})
	}
	if exposed {
		np.Spec.Ingress = append(np.Spec.Ingress, NetworkPolicyIngressRule{
			From: []NetworkPolicyPeer{{NamespaceSelector: &LabelSelector{
				MatchLabels: map[string]string{labelMetadataName: IngressNamespace},
			}}},
			Ports: port,
		})
	}
	return np
}

// Ingress routes one exposure: the class picks the entrypoint, the rule
// is the Traefik router's Host/PathPrefix, and the router name becomes the
// object's name (unique per stack, validated as a DNS label).
func Ingress(set spec.Settings, s *spec.Service, e *spec.Expose) *IngressObject {
	ann := map[string]string{annEntrypoints: e.Entrypoint}
	if e.StripPrefix && e.PathPrefix != "" {
		// Traefik names CRD middlewares <namespace>-<name>@kubernetescrd.
		ann[annMiddlewares] = Namespace(set) + "-" + stripName(e) + "@kubernetescrd"
	}
	if e.TLS {
		ann[annTLS] = "true"
		if e.CertResolver != "" {
			ann[annCertResolver] = e.CertResolver
		}
	}
	path := e.PathPrefix
	if path == "" {
		path = "/"
	}
	m := meta(set, e.Router, s.Name)
	m.Annotations = ann
	return &IngressObject{
		TypeMeta:   TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: m,
		Spec: IngressSpec{
			IngressClassName: ptr(e.Entrypoint),
			Rules: []IngressRule{{
				Host: e.Host,
				HTTP: &HTTPIngressRuleValue{
					Paths: []HTTPIngressPath{{
						Path:     path,
						PathType: ptr("Prefix"),
						Backend: IngressBackend{Service: &IngressServiceBackend{
							Name: s.Name,
							Port: ServiceBackendPort{Number: int32(s.MeshPort().Container)},
						}},
					}},
				},
			}},
		},
	}
}

func stripName(e *spec.Expose) string { return e.Router + "-strip" }

package kube

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/stackctl/stackctl/internal/spec"
)

// Traefik's Ingress annotations (its kubernetesIngress provider).
const (
	annEntrypoints  = "traefik.ingress.kubernetes.io/router.entrypoints"
	annMiddlewares  = "traefik.ingress.kubernetes.io/router.middlewares"
	annTLS          = "traefik.ingress.kubernetes.io/router.tls"
	annCertResolver = "traefik.ingress.kubernetes.io/router.tls.certresolver"
)

// NamespaceObject is the stack's namespace.
func NamespaceObject(set spec.Settings) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: Namespace(set), Labels: labels(set, "")},
	}
}

// IngressClass: one per entrypoint, so that a Traefik instance (or one
// Traefik with both entrypoints) serves "internal" routes only where the
// internal entrypoint listens.
func IngressClass(set spec.Settings, entrypoint string) *networkingv1.IngressClass {
	return &networkingv1.IngressClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "IngressClass"},
		ObjectMeta: metav1.ObjectMeta{Name: entrypoint, Labels: labels(set, "")},
		Spec:       networkingv1.IngressClassSpec{Controller: IngressController},
	}
}

// DefaultDeny selects every pod of the namespace for ingress and allows
// nothing: the counterpart of the mesh's "*" -> "*" deny intention. Each
// service's AllowPolicy then opens exactly its declared callers.
func DefaultDeny(set spec.Settings) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "default-deny-ingress", Namespace: Namespace(set), Labels: labels(set, "")},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
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
func AllowPolicy(set spec.Settings, s *spec.Service, callers []string) *networkingv1.NetworkPolicy {
	exposed := len(s.Exposes) > 0
	if len(callers) == 0 && !exposed {
		return nil
	}
	port := []networkingv1.NetworkPolicyPort{{
		Protocol: ptr(corev1.ProtocolTCP),
		Port:     ptr(intstr.FromInt32(int32(s.MeshPort().Container))),
	}}
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: meta(set, s.Name+"-allow", s.Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector(s.Name)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	if len(callers) > 0 {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key:      LabelName,
					Operator: metav1.LabelSelectorOpIn,
					Values:   append([]string(nil), callers...),
				}},
			}}},
			Ports: port,
		})
	}
	if exposed {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: IngressNamespace},
			}}},
			Ports: port,
		})
	}
	return np
}

// Ingress routes one exposure: the class picks the entrypoint, the rule
// is the Traefik router's Host/PathPrefix, and the router name becomes the
// object's name (unique per stack, validated as a DNS label).
func Ingress(set spec.Settings, s *spec.Service, e *spec.Expose) *networkingv1.Ingress {
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
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: m,
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr(e.Entrypoint),
			Rules: []networkingv1.IngressRule{{
				Host: e.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     path,
						PathType: ptr(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: s.Name,
							Port: networkingv1.ServiceBackendPort{Number: int32(s.MeshPort().Container)},
						}},
					}},
				}},
			}},
		},
	}
}

func stripName(e *spec.Expose) string { return e.Router + "-strip" }

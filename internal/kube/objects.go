package kube

import "strconv"

// The Kubernetes objects stackctl writes, as small local structs with the
// fields it sets and the JSON names and omitempty rules of k8s.io/api.
// Linking k8s.io/api and apimachinery for these cost every stackctl
// process (validate included) their package initialisers and 4 MiB of
// memory before main ran. TestObjectsMatchAPITypes decodes every manifest
// strictly into the official types and checks that those write the same
// bytes back.

// TypeMeta is metav1.TypeMeta.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ObjectMeta is the part of metav1.ObjectMeta a manifest carries.
type ObjectMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// ServiceAccountObject is corev1.ServiceAccount.
type ServiceAccountObject struct {
	TypeMeta
	ObjectMeta                   `json:"metadata"`
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
}

// DeploymentObject is appsv1.Deployment.
type DeploymentObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       DeploymentSpec `json:"spec"`
}

type DeploymentSpec struct {
	Replicas                *int32             `json:"replicas,omitempty"`
	Selector                *LabelSelector     `json:"selector"`
	Template                PodTemplateSpec    `json:"template"`
	Strategy                DeploymentStrategy `json:"strategy"`
	MinReadySeconds         int32              `json:"minReadySeconds,omitempty"`
	ProgressDeadlineSeconds *int32             `json:"progressDeadlineSeconds,omitempty"`
}

type DeploymentStrategy struct {
	Type          string                   `json:"type,omitempty"`
	RollingUpdate *RollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// RollingUpdateDeployment's fields are int-or-string in the API; stackctl
// always gives numbers.
type RollingUpdateDeployment struct {
	MaxUnavailable *int32 `json:"maxUnavailable,omitempty"`
	MaxSurge       *int32 `json:"maxSurge,omitempty"`
}

type PodTemplateSpec struct {
	ObjectMeta `json:"metadata"`
	Spec       PodSpec `json:"spec"`
}

type PodSpec struct {
	Containers                    []Container `json:"containers"`
	TerminationGracePeriodSeconds *int64      `json:"terminationGracePeriodSeconds,omitempty"`
	ServiceAccountName            string      `json:"serviceAccountName,omitempty"`
	AutomountServiceAccountToken  *bool       `json:"automountServiceAccountToken,omitempty"`
	EnableServiceLinks            *bool       `json:"enableServiceLinks,omitempty"`
}

type Container struct {
	Name           string               `json:"name"`
	Image          string               `json:"image,omitempty"`
	Args           []string             `json:"args,omitempty"`
	Ports          []ContainerPort      `json:"ports,omitempty"`
	Env            []EnvVar             `json:"env,omitempty"`
	Resources      ResourceRequirements `json:"resources"`
	LivenessProbe  *Probe               `json:"livenessProbe,omitempty"`
	ReadinessProbe *Probe               `json:"readinessProbe,omitempty"`
	Lifecycle      *Lifecycle           `json:"lifecycle,omitempty"`
}

type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
}

type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

type EnvVarSource struct {
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`
}

type SecretKeySelector struct {
	Name string `json:"name,omitempty"`
	Key  string `json:"key"`
}

// ResourceRequirements maps resource names to quantities already in
// their canonical text (milliCPU, binaryQuantity).
type ResourceRequirements struct {
	Limits   map[string]string `json:"limits,omitempty"`
	Requests map[string]string `json:"requests,omitempty"`
}

type Probe struct {
	HTTPGet          *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket        *TCPSocketAction `json:"tcpSocket,omitempty"`
	TimeoutSeconds   int32            `json:"timeoutSeconds,omitempty"`
	PeriodSeconds    int32            `json:"periodSeconds,omitempty"`
	SuccessThreshold int32            `json:"successThreshold,omitempty"`
	FailureThreshold int32            `json:"failureThreshold,omitempty"`
}

type HTTPGetAction struct {
	Path   string `json:"path,omitempty"`
	Port   int32  `json:"port"`
	Scheme string `json:"scheme,omitempty"`
}

type TCPSocketAction struct {
	Port int32 `json:"port"`
}

type Lifecycle struct {
	PreStop *LifecycleHandler `json:"preStop,omitempty"`
}

type LifecycleHandler struct {
	Sleep *SleepAction `json:"sleep,omitempty"`
}

type SleepAction struct {
	Seconds int64 `json:"seconds"`
}

// ServiceObject is corev1.Service.
type ServiceObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       ServiceSpec `json:"spec"`
}

type ServiceSpec struct {
	Ports    []ServicePort     `json:"ports,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
	Type     string            `json:"type,omitempty"`
}

type ServicePort struct {
	Name       string `json:"name,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	Port       int32  `json:"port"`
	TargetPort int32  `json:"targetPort"`
}

// HPAObject is autoscalingv2.HorizontalPodAutoscaler.
type HPAObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       HPASpec `json:"spec"`
}

type HPASpec struct {
	ScaleTargetRef CrossVersionObjectReference `json:"scaleTargetRef"`
	MinReplicas    *int32                      `json:"minReplicas,omitempty"`
	MaxReplicas    int32                       `json:"maxReplicas"`
	Metrics        []MetricSpec                `json:"metrics,omitempty"`
	Behavior       *HPABehavior                `json:"behavior,omitempty"`
}

type CrossVersionObjectReference struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
}

type HPABehavior struct {
	ScaleDown *HPAScalingRules `json:"scaleDown,omitempty"`
}

type HPAScalingRules struct {
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
}

type MetricSpec struct {
	Type     string                `json:"type"`
	Resource *ResourceMetricSource `json:"resource,omitempty"`
}

type ResourceMetricSource struct {
	Name   string       `json:"name"`
	Target MetricTarget `json:"target"`
}

type MetricTarget struct {
	Type               string `json:"type"`
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
}

// NamespaceManifest is corev1.Namespace.
type NamespaceManifest struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
}

// IngressClassObject is networkingv1.IngressClass.
type IngressClassObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       IngressClassSpec `json:"spec"`
}

type IngressClassSpec struct {
	Controller string `json:"controller,omitempty"`
}

// NetworkPolicyObject is networkingv1.NetworkPolicy.
type NetworkPolicyObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       NetworkPolicySpec `json:"spec"`
}

type NetworkPolicySpec struct {
	PodSelector LabelSelector              `json:"podSelector"`
	Ingress     []NetworkPolicyIngressRule `json:"ingress,omitempty"`
	PolicyTypes []string                   `json:"policyTypes,omitempty"`
}

type NetworkPolicyIngressRule struct {
	Ports []NetworkPolicyPort `json:"ports,omitempty"`
	From  []NetworkPolicyPeer `json:"from,omitempty"`
}

type NetworkPolicyPeer struct {
	PodSelector       *LabelSelector `json:"podSelector,omitempty"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
}

type NetworkPolicyPort struct {
	Protocol *string `json:"protocol,omitempty"`
	Port     *int32  `json:"port,omitempty"`
}

// IngressObject is networkingv1.Ingress.
type IngressObject struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       IngressSpec `json:"spec"`
}

type IngressSpec struct {
	IngressClassName *string       `json:"ingressClassName,omitempty"`
	Rules            []IngressRule `json:"rules,omitempty"`
}

type IngressRule struct {
	Host string                `json:"host,omitempty"`
	HTTP *HTTPIngressRuleValue `json:"http,omitempty"`
}

type HTTPIngressRuleValue struct {
	Paths []HTTPIngressPath `json:"paths"`
}

type HTTPIngressPath struct {
	Path     string         `json:"path,omitempty"`
	PathType *string        `json:"pathType"`
	Backend  IngressBackend `json:"backend"`
}

type IngressBackend struct {
	Service *IngressServiceBackend `json:"service,omitempty"`
}

type IngressServiceBackend struct {
	Name string             `json:"name"`
	Port ServiceBackendPort `json:"port"`
}

type ServiceBackendPort struct {
	Number int32 `json:"number,omitempty"`
}

// milliCPU is a CPU quantity of n millicores in resource.Quantity's
// canonical text: "100m", "1", "1500m", "2k".
func milliCPU(n int64) string {
	if n == 0 {
		return "0"
	}
	exp := -1 // a power of 1,000: -1 is "m"
	for n%1000 == 0 && exp < 6 {
		n /= 1000
		exp++
	}
	return strconv.FormatInt(n, 10) + [...]string{"m", "", "k", "M", "G", "T", "P", "E"}[exp+1]
}

// binaryQuantity is n MiB in resource.Quantity's canonical text: the
// largest power-of-1,024 suffix that divides it, "64Mi", "1Gi".
func binaryQuantity(mib int64) string {
	if mib == 0 {
		return "0"
	}
	suffix := 0 // 0 "Mi", 1 "Gi", ...
	for mib%1024 == 0 && suffix < 3 {
		mib /= 1024
		suffix++
	}
	return strconv.FormatInt(mib, 10) + [...]string{"Mi", "Gi", "Ti", "Pi", "Ei"}[suffix]
}

// validPortName is validation.IsValidPortName's test: an IANA service
// name of at most 15 of [a-z0-9-], with a letter, no "--", no hyphen at
// either end.
func validPortName(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			letter = true
		case '0' <= c && c <= '9':
		case c == '-':
			if i > 0 && s[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return letter
}

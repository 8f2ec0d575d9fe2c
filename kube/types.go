package kube

// The parts of the batch/v1 Job and core/v1 Pod types the job uses, with
// their Kubernetes JSON names (the tests decode the output strictly into
// the real types).

type job struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Metadata   meta    `json:"metadata"`
	Spec       jobSpec `json:"spec"`
}

type meta struct {
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type jobSpec struct {
	CompletionMode        string      `json:"completionMode"`
	Completions           *int32      `json:"completions"`
	Parallelism           *int32      `json:"parallelism"`
	BackoffLimit          *int32      `json:"backoffLimit"`
	ActiveDeadlineSeconds *int64      `json:"activeDeadlineSeconds,omitempty"`
	Template              podTemplate `json:"template"`
}

type podTemplate struct {
	Metadata meta    `json:"metadata"`
	Spec     podSpec `json:"spec"`
}

type podSpec struct {
	RestartPolicy                 string              `json:"restartPolicy"`
	SecurityContext               *podSecurityContext `json:"securityContext,omitempty"`
	Affinity                      *affinity           `json:"affinity,omitempty"`
	TerminationGracePeriodSeconds *int64              `json:"terminationGracePeriodSeconds,omitempty"`
	Containers                    []container         `json:"containers"`
}

type podSecurityContext struct {
	SeccompProfile *seccompProfile `json:"seccompProfile,omitempty"`
	Sysctls        []sysctl        `json:"sysctls,omitempty"`
}

type seccompProfile struct {
	Type string `json:"type"`
}

type sysctl struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type affinity struct {
	PodAntiAffinity *podAntiAffinity `json:"podAntiAffinity,omitempty"`
}

type podAntiAffinity struct {
	Required  []affinityTerm `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
	Preferred []weightedTerm `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

type affinityTerm struct {
	LabelSelector labelSelector `json:"labelSelector"`
	TopologyKey   string        `json:"topologyKey"`
}

type weightedTerm struct {
	Weight int32        `json:"weight"`
	Term   affinityTerm `json:"podAffinityTerm"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type container struct {
	Name            string           `json:"name"`
	Image           string           `json:"image"`
	Env             []envVar         `json:"env,omitempty"`
	Command         []string         `json:"command"`
	Args            []string         `json:"args"`
	Resources       *resources       `json:"resources,omitempty"`
	SecurityContext *securityContext `json:"securityContext,omitempty"`
}

type envVar struct {
	Name      string     `json:"name"`
	ValueFrom *envSource `json:"valueFrom,omitempty"`
}

type envSource struct {
	FieldRef *fieldRef `json:"fieldRef,omitempty"`
}

type fieldRef struct {
	FieldPath string `json:"fieldPath"`
}

type resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

type securityContext struct {
	RunAsNonRoot             *bool             `json:"runAsNonRoot,omitempty"`
	RunAsUser                *int64            `json:"runAsUser,omitempty"`
	AllowPrivilegeEscalation *bool             `json:"allowPrivilegeEscalation,omitempty"`
	ReadOnlyRootFilesystem   *bool             `json:"readOnlyRootFilesystem,omitempty"`
	Capabilities             *capabilitiesSpec `json:"capabilities,omitempty"`
}

type capabilitiesSpec struct {
	Drop []string `json:"drop,omitempty"`
	Add  []string `json:"add,omitempty"`
}

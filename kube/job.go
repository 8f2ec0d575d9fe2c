// Package kube makes the Kubernetes Indexed Job that runs one connbench run
// split over N generators (connbench kube job): pod i runs
// `connbench run ... --segment i/N` with one --start-at and one --run-id,
// and writes its result as one JSON line on stdout, so that
// `kubectl logs` of the pods, one after the other, is what `connbench
// merge` reads. Kubernetes is the engine for many machines: it places the
// pods (on different nodes), starts them and keeps their logs; connbench
// only says what each one does.
//
// The Job is written as JSON (kubectl accepts it as it accepts YAML), from
// a few structs that mirror the batch/v1 and core/v1 types; the tests
// decode it strictly into the Kubernetes API types.
package kube

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connbench/connbench/runner"
	"github.com/connbench/connbench/segment"
	"github.com/spf13/pflag"
)

// Bounds of the job's flags.
const (
	MaxSegments = 1000 // --segments
	MinLead     = 5 * time.Second
	MaxLead     = time.Hour // --lead
)

// IndexVar is the variable an Indexed Job gives each pod its index in.
const IndexVar = "JOB_COMPLETION_INDEX"

// Options are kube job's own flags.
type Options struct {
	Segments  int           // --segments: generators (pods), 1 to MaxSegments
	Image     string        // --image: the connbench image
	Target    string        // --target HOST:PORT, as the pods reach it
	Lead      time.Duration // --lead: the start this far after the job is made
	Name      string        // --name: the Job's name (default connbench-RUNID)
	Namespace string        // --namespace (empty: kubectl's)
	CPU       string        // --cpu: each pod's CPU request and limit
	Memory    string        // --memory: each pod's memory request and limit
	Spread    string        // --spread required|preferred: pod anti-affinity
	Sysctls   []string      // --sysctl NAME=VALUE: the pods' namespaced sysctls
}

// own are the flags of Options (not run flags).
var own = map[string]bool{"segments": true, "image": true, "target": true, "lead": true, "name": true,
	"namespace": true, "cpu": true, "memory": true, "spread": true, "sysctl": true}

// set are the run flags the job sets for every pod itself.
var set = map[string]bool{"segment": true, "start-at": true, "run-id": true, "jsonl": true, "output": true, "quiet": true}

// refused are run flags a pod cannot use: files written in the pod (whose
// file system is read-only; its result comes back as a log line), and
// processes (a pod is one segment: ask for more segments).
var refused = map[string]string{
	"hlog": "writes a file in the pod", "hgrm": "writes a file in the pod", "junit": "writes a file in the pod",
	"cpuprofile": "writes a file in the pod", "procs": "splits a pod's segment again",
}

// Skip reports whether a flag given to kube job is not passed on to the
// pods as it was given: kube job's own, or one it sets per pod.
func Skip(name string) bool { return own[name] || set[name] }

// DefineFlags defines kube job's own flags, bound to o, in a group.
func (o *Options) DefineFlags(group func(title string) *pflag.FlagSet) {
	g := group("Kubernetes Job")
	g.IntVar(&o.Segments, "segments", 0, "generators: the Job's pods, each running --segment I/N of the run (1 to 1000)")
	g.StringVar(&o.Image, "image", "", "the connbench container image (e.g. registry.example/connbench:0.2.0)")
	g.StringVar(&o.Target, "target", "", "the server HOST:PORT as the pods reach it (a Service name resolves in the cluster)")
	g.DurationVar(&o.Lead, "lead", 30*time.Second, "start the run this long after the Job is printed (--start-at), time to apply it and pull the image (5s to 1h)")
	g.StringVar(&o.Name, "name", "", "the Job's name (default connbench-RUNID)")
	g.StringVar(&o.Namespace, "namespace", "", "the Job's namespace (default: kubectl's)")
	g.StringVar(&o.CPU, "cpu", "1", "each pod's CPU request and limit (a Kubernetes quantity: 2, 500m)")
	g.StringVar(&o.Memory, "memory", "512Mi", "each pod's memory request and limit (a Kubernetes quantity: 512Mi, 2Gi)")
	g.StringVar(&o.Spread, "spread", "required", "pods on different nodes: required (a pod waits for a node of its own) or preferred")
	g.StringArrayVar(&o.Sysctls, "sysctl", nil, "a namespaced sysctl NAME=VALUE for the pods, e.g. net.ipv4.ip_local_port_range=\"1024 65535\" (repeatable; the kubelet sets it; unsafe ones must be allowed on the nodes)")
}

var (
	// dnsLabel is a Kubernetes object name (RFC 1123 label).
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// quantity is a Kubernetes resource quantity, as far as needed here.
	quantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)
	// image is a container image reference: no spaces or quotes.
	image = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,511}$`)
	// sysctlName is a namespaced sysctl name.
	sysctlName = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_-]+)+$`)
)

// validate checks o; errors are usage errors naming the flag.
func (o *Options) validate() error {
	switch {
	case o.Segments < 1 || o.Segments > MaxSegments:
		return runner.Usagef("--segments %d: want 1 to %d generators", o.Segments, MaxSegments)
	case !image.MatchString(o.Image):
		return runner.Usagef("--image %q: want a container image reference (e.g. registry.example/connbench:0.2.0)", o.Image)
	case o.Lead < MinLead || o.Lead > MaxLead:
		return runner.Usagef("--lead %s: out of range (allowed: %s to %s)", o.Lead, MinLead, MaxLead)
	case o.Name != "" && (!dnsLabel.MatchString(o.Name) || len(o.Name) > 52):
		return runner.Usagef("--name %q: want lower-case letters, digits and '-', at most 52 (the pods' names add to it)", o.Name)
	case o.Namespace != "" && !dnsLabel.MatchString(o.Namespace):
		return runner.Usagef("--namespace %q: want lower-case letters, digits and '-', at most 63", o.Namespace)
	case !quantity.MatchString(o.CPU):
		return runner.Usagef("--cpu %q: want a quantity such as 2 or 500m", o.CPU)
	case !quantity.MatchString(o.Memory):
		return runner.Usagef("--memory %q: want a quantity such as 512Mi or 2Gi", o.Memory)
	case o.Spread != "required" && o.Spread != "preferred":
		return runner.Usagef("--spread %q: want required or preferred", o.Spread)
	}
	for _, kv := range o.Sysctls {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !sysctlName.MatchString(k) || len(k) > 253 || len(v) > 256 || strings.ContainsAny(v, "\n\x00") {
			return runner.Usagef("--sysctl %q: want NAME=VALUE with a sysctl name such as net.ipv4.tcp_tw_reuse", kv)
		}
		if !strings.HasPrefix(k, "net.") {
			return runner.Usagef("--sysctl %s: only net.* sysctls are per pod (network namespace)", k)
		}
	}
	return checkTarget(o.Target)
}

// checkTarget checks --target: HOST:PORT with an IP address or a DNS name
// (resolved in the cluster, not here).
func checkTarget(t string) error {
	host, port, err := net.SplitHostPort(t)
	if err != nil || host == "" {
		return runner.Usagef("--target %q: want HOST:PORT, the server as the pods reach it (e.g. nginx.default.svc:80)", t)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return runner.Usagef("--target %q: port %q must be a number from 1 to 65535", t, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.IsUnspecified() {
			return runner.Usagef("--target %q: %s is not an address one can connect to", t, host)
		}
		return nil
	}
	if len(host) > 253 || !regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`).MatchString(host) || strings.Contains(host, "..") {
		return runner.Usagef("--target %q: %q is neither an IP address nor a host name", t, host)
	}
	return nil
}

// Job makes the Job for the run s (its run flags parsed, not yet
// validated; runArgs are those flags as given, turned back into
// arguments, without Skip's) at now: it sets the shared start (now +
// Lead) and the run id, validates s as each pod will, and returns the
// Job's JSON and the run id.
func (o *Options) Job(s *runner.Spec, runArgs []string, now time.Time) ([]byte, string, error) {
	if err := o.validate(); err != nil {
		return nil, "", err
	}
	if s.Set == nil {
		s.Set = map[string]bool{}
	}
	for n := range own {
		delete(s.Set, n) // the spec is the run's: the pods' is made of its flags
	}
	for n := range set {
		if s.Set[n] && n != "run-id" {
			return nil, "", runner.Usagef("--%s: kube job sets it for every pod itself", n)
		}
	}
	for n, why := range refused {
		if s.Set[n] {
			return nil, "", runner.Usagef("--%s %s: not in a kube job (the pods' results come back as log lines; merge them, then use connbench report; for more processes, more --segments)", n, why)
		}
	}
	start := now.Add(o.Lead).UTC().Truncate(time.Second)
	s.StartAt, s.Set["start-at"] = start.Format(time.RFC3339), true
	if err := s.Validate(); err != nil {
		return nil, "", err
	}
	if err := s.CheckRemote(o.Target); err != nil {
		return nil, "", err
	}
	// A pod's share must leave it something to do: check the last
	// segment's (the smallest) now, not in a failed pod.
	last := *s
	last.Segment = segment.Part(o.Segments-1, o.Segments)
	if o.Segments > 1 {
		if err := last.CheckSegment(); err != nil {
			return nil, "", err
		}
	}
	name := o.Name
	if name == "" {
		name = "connbench-" + strings.ToLower(s.RunID)
		if !dnsLabel.MatchString(name) || len(name) > 52 {
			return nil, "", runner.Usagef("--run-id %s does not make a Job name: give --name", s.RunID)
		}
	}
	args := append([]string{"run"}, runArgs...)
	args = append(args, "--start-at="+s.StartAt, "--run-id="+s.RunID,
		fmt.Sprintf("--segment=$(%s)/%d", IndexVar, o.Segments), "--jsonl", "--output=-", "--quiet", o.Target)
	j := o.job(name, s.RunID, args, s)
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, "", fmt.Errorf("kube: %w", err)
	}
	return append(b, '\n'), s.RunID, nil
}

// PodArgs are the arguments of pod index's connbench, as the kubelet
// expands them (the $(JOB_COMPLETION_INDEX) reference replaced).
func PodArgs(args []string, index int) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$("+IndexVar+")", strconv.Itoa(index))
	}
	return out
}

// capabilities are the Linux capabilities a run needs in its pod: none,
// but CAP_SYS_RESOURCE (as root) for --raise-limits. (The run flags that
// need CAP_NET_ADMIN, the emulated path and synflood, work only against
// the built-in listener, which a job's run does not use; sysctls are set
// by the kubelet, --sysctl.)
func capabilities(s *runner.Spec) []string {
	if s.RaiseLimits {
		return []string{"SYS_RESOURCE"}
	}
	return nil
}

func (o *Options) job(name, runID string, args []string, s *runner.Spec) *job {
	labels := map[string]string{"app.kubernetes.io/name": "connbench", "connbench/run-id": runID}
	caps := capabilities(s)
	root := len(caps) > 0
	uid := int64(65532)
	if root {
		uid = 0
	}
	sec := &securityContext{
		RunAsNonRoot:             ptr(!root),
		RunAsUser:                &uid,
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Capabilities:             &capabilitiesSpec{Drop: []string{"ALL"}, Add: caps},
	}
	podSec := &podSecurityContext{SeccompProfile: &seccompProfile{Type: "RuntimeDefault"}}
	for _, kv := range o.Sysctls {
		k, v, _ := strings.Cut(kv, "=")
		podSec.Sysctls = append(podSec.Sysctls, sysctl{Name: k, Value: v})
	}
	term := affinityTerm{LabelSelector: labelSelector{MatchLabels: map[string]string{"connbench/run-id": runID}}, TopologyKey: "kubernetes.io/hostname"}
	aff := &podAntiAffinity{}
	if o.Spread == "required" {
		aff.Required = []affinityTerm{term}
	} else {
		aff.Preferred = []weightedTerm{{Weight: 100, Term: term}}
	}
	res := map[string]string{"cpu": o.CPU, "memory": o.Memory}
	n := int32(o.Segments)
	// Past the start a pod that starts late is no use: the Job fails
	// rather than retrying (backoffLimit 0, restartPolicy Never) and ends
	// at the latest when the run should have (with a margin).
	deadline := int64((o.Lead + runTime(s) + 5*time.Minute).Seconds())
	return &job{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   meta{Name: name, Namespace: o.Namespace, Labels: labels},
		Spec: jobSpec{
			CompletionMode:        "Indexed",
			Completions:           &n,
			Parallelism:           &n,
			BackoffLimit:          ptr(int32(0)),
			ActiveDeadlineSeconds: &deadline,
			Template: podTemplate{
				Metadata: meta{Labels: labels},
				Spec: podSpec{
					RestartPolicy:                 "Never",
					SecurityContext:               podSec,
					Affinity:                      &affinity{PodAntiAffinity: aff},
					TerminationGracePeriodSeconds: ptr(int64(30)),
					Containers: []container{{
						Name:  "connbench",
						Image: o.Image,
						// The Job controller sets this too; declared here, so
						// that $(JOB_COMPLETION_INDEX) in args expands.
						Env: []envVar{{Name: IndexVar, ValueFrom: &envSource{FieldRef: &fieldRef{
							FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}},
						Command:         []string{"connbench"},
						Args:            args,
						Resources:       &resources{Requests: res, Limits: res},
						SecurityContext: sec,
					}},
				},
			},
		},
	}
}

// runTime is how long a run of s may take: its warm-up and duration, or
// an hour when it ends by -n alone.
func runTime(s *runner.Spec) time.Duration {
	if s.Duration == 0 {
		return time.Hour
	}
	return s.Warmup + s.Duration
}

func ptr[T any](v T) *T { return &v }

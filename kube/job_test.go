package kube

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/runner"
	"github.com/connbench/connbench/segment"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

var now = time.Now()

// build is kube job ARGS: the Job decoded strictly into the Kubernetes
// API type (an unknown or misspelt field fails), and the run's spec.
func build(t *testing.T, args ...string) (*batchv1.Job, *runner.Spec) {
	t.Helper()
	f, s, o := flags()
	if err := f.ParseArgs(args); err != nil {
		t.Fatal(err)
	}
	s.Set = f.Given()
	b, id, err := o.Job(s, cli.Args(f.FlagSet, Skip), now)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if id != s.RunID {
		t.Fatalf("run id %s, spec's %s", id, s.RunID)
	}
	var j batchv1.Job
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("%v: not a batch/v1 Job: %v\n%s", args, err, b)
	}
	if dec.More() {
		t.Fatal("more after the Job")
	}
	return &j, s
}

func TestJobDecodesAndRoundTrips(t *testing.T) {
	common := []string{"--image", "registry.example/connbench:0.2.0", "--target", "nginx.default.svc:80"}
	for _, tc := range []struct {
		args []string
		n    int
		caps []corev1.Capability
	}{
		{[]string{"-w", "per-request", "--rate", "20000", "-d", "60s", "--segments", "8"}, 8, nil},
		{[]string{"-w", "pooled", "--protocol", "http", "--path", "/x%20y", "--header", "X-A: 1", "--header", "X-B: 2", "-c", "64", "-n", "100000", "--segments", "4", "--spread", "preferred", "--cpu", "500m", "--memory", "1Gi"}, 4, nil},
		{[]string{"-w", "hold", "-n", "300000", "--rate", "5000", "-d", "2m", "--raise-limits", "--segments", "3", "--sysctl", "net.ipv4.ip_local_port_range=1024 65535", "--run-id", "farm-7", "--name", "hold-test", "--namespace", "load"}, 3, []corev1.Capability{"SYS_RESOURCE"}},
		{[]string{"-w", "churn", "--rate", "100:5000", "-d", "30s", "--close", "rst", "--source", "10.1.0.1-10.1.0.6", "--segments", "2", "--lead", "2m"}, 2, nil},
		{[]string{"--segments", "1"}, 1, nil},
	} {
		j, s := build(t, append(tc.args, common...)...)
		sp := j.Spec
		if sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion || *sp.Completions != int32(tc.n) || *sp.Parallelism != int32(tc.n) {
			t.Fatalf("%v: completion mode %v, completions %d, parallelism %d", tc.args, sp.CompletionMode, *sp.Completions, *sp.Parallelism)
		}
		pod := sp.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
			t.Fatalf("%v: restart policy %s, %d containers", tc.args, pod.RestartPolicy, len(pod.Containers))
		}
		c := pod.Containers[0]
		sec := c.SecurityContext
		if !slices.Equal(sec.Capabilities.Add, tc.caps) || !slices.Equal(sec.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%v: capabilities %+v", tc.args, sec.Capabilities)
		}
		if (tc.caps == nil) != (*sec.RunAsNonRoot && *sec.RunAsUser != 0) {
			t.Errorf("%v: runAsNonRoot %v uid %d", tc.args, *sec.RunAsNonRoot, *sec.RunAsUser)
		}
		if c.Resources.Limits.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%v: resources %+v", tc.args, c.Resources)
		}
		aff := pod.Affinity.PodAntiAffinity
		if len(aff.RequiredDuringSchedulingIgnoredDuringExecution)+len(aff.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Errorf("%v: anti-affinity %+v", tc.args, aff)
		}
		if pod.Affinity == nil || j.Spec.Template.Labels["connbench/run-id"] != s.RunID {
			t.Errorf("%v: pods not labelled with the run id", tc.args)
		}
		if c.Env[0].Name != IndexVar || !strings.Contains(c.Env[0].ValueFrom.FieldRef.FieldPath, "job-completion-index") {
			t.Errorf("%v: env %+v", tc.args, c.Env)
		}
		// Every pod's command line, as the kubelet expands it, is the
		// run's spec with the pod's segment, run id and start.
		for i := 0; i < tc.n; i++ {
			args := PodArgs(c.Args, i)
			if args[0] != "run" || c.Command[0] != "connbench" {
				t.Fatalf("command %v %v", c.Command, args)
			}
			f := cli.New("connbench run")
			var p runner.Spec
			p.DefineFlags(f.Group, false)
			f.Done()
			if err := f.ParseArgs(args[1:]); err != nil {
				t.Fatalf("pod %d: %v: %v", i, args, err)
			}
			p.Set = f.Given()
			if err := p.Validate(); err != nil {
				t.Fatalf("pod %d: %v: %v", i, args, err)
			}
			if f.NArg() != 1 || f.Arg(0) != "nginx.default.svc:80" {
				t.Fatalf("pod %d: target %v", i, f.Args())
			}
			want := segment.Segment{}
			if tc.n > 1 {
				want = segment.Part(i, tc.n)
			}
			if p.Segment != want && !(tc.n == 1 && p.Segment == segment.Whole) {
				t.Errorf("pod %d: segment %v, want %v", i, p.Segment, want)
			}
			if p.RunID != s.RunID || p.StartAt != s.StartAt || !p.JSONL || p.Output != "-" || !p.Quiet {
				t.Errorf("pod %d: run id %s start %s jsonl %v -o %q quiet %v; job's run id %s start %s", i, p.RunID, p.StartAt, p.JSONL, p.Output, p.Quiet, s.RunID, s.StartAt)
			}
			if got, want := string(p.WholeSpec()), string(s.WholeSpec()); got != want {
				t.Errorf("pod %d: spec differs from the job's:\n%s\n%s", i, got, want)
			}
		}
		// Without --run-id, a generator given the pods' flags derives the
		// job's run id (unless the user named one).
		if !slices.Contains(tc.args, "--run-id") {
			args := slices.DeleteFunc(PodArgs(c.Args, 0), func(a string) bool { return strings.HasPrefix(a, "--run-id=") })
			f := cli.New("connbench run")
			var p runner.Spec
			p.DefineFlags(f.Group, false)
			f.Done()
			if err := f.ParseArgs(args[1:]); err != nil {
				t.Fatal(err)
			}
			p.Set = f.Given()
			if err := p.Validate(); err != nil || p.RunID != s.RunID {
				t.Errorf("%v: a pod without --run-id derives %s (%v), the job %s", tc.args, p.RunID, err, s.RunID)
			}
		}
		start, err := time.Parse(time.RFC3339, s.StartAt)
		if err != nil || start.Before(now) || start.After(now.Add(3*time.Minute)) {
			t.Errorf("%v: start %s for now %s", tc.args, s.StartAt, now)
		}
	}
}

func TestJobRefuses(t *testing.T) {
	good := []string{"--image", "reg.example/cb:1", "--target", "svc:80", "--segments", "4"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", "reg.example/cb:1", "--target", "svc:80"}, "--segments 0"},
		{append(good, "--segments", "1001"), "--segments"},
		{[]string{"--image", "a b", "--target", "svc:80", "--segments", "2"}, "--image"},
		{[]string{"--image", "x", "--target", "svc", "--segments", "2"}, "--target"},
		{[]string{"--image", "x", "--target", "0.0.0.0:80", "--segments", "2"}, "--target"},
		{[]string{"--image", "x", "--target", "svc:0", "--segments", "2"}, "--target"},
		{append(good, "--lead", "1s"), "--lead"},
		{append(good, "--name", "Big_Name"), "--name"},
		{append(good, "--cpu", "lots"), "--cpu"},
		{append(good, "--spread", "maybe"), "--spread"},
		{append(good, "--sysctl", "kernel.pid_max=5"), "--sysctl"},
		{append(good, "--sysctl", "noequals"), "--sysctl"},
		{append(good, "-c", "3"), "-c 3 leaves this segment"},
		{append(good, "--segment", "1/4"), "--segment: kube job sets it"},
		{append(good, "--start-at", "1"), "--start-at: kube job sets it"},
		{append(good, "--rtt", "10ms"), "emulated path"},
		{append(good, "--hlog", "x.hlog"), "--hlog writes a file in the pod"},
		{append(good, "--procs", "2"), "--procs splits"},
		{append(good, "--backlog", "10"), "--backlog"},
	} {
		f, s, o := flags()
		err := f.ParseArgs(tc.args)
		if err == nil {
			s.Set = f.Given()
			_, _, err = o.Job(s, cli.Args(f.FlagSet, Skip), now)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !runner.IsUsage(err) {
			t.Errorf("%v: %v, want a usage error saying %q", tc.args, err, tc.want)
		}
	}
	if _, _, err := Main([]string{"jobs"}, now); err == nil {
		t.Error("kube jobs: no error")
	}
	if _, _, err := Main([]string{"job", "--segments", "2", "--image", "x", "--target", "svc:1", "extra"}, now); err == nil {
		t.Error("an argument: no error")
	}
}

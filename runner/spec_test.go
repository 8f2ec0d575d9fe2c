package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// specFromArgs is the Spec `connbench run ARGS` makes, validated.
func specFromArgs(t *testing.T, args ...string) *Spec {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := &Spec{}
	s.DefineFlags(func(string) *pflag.FlagSet { return fs }, false)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	s.Set = map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { s.Set[f.Name] = true })
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// childCopy is what a child process makes of s: JSON there and back, then
// its own Validate.
func childCopy(t *testing.T, s *Spec) *Spec {
	t.Helper()
	b, err := json.Marshal(&ChildRequest{Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	req, err := ReadChildRequest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Spec.Validate(); err != nil {
		t.Fatalf("the child's Validate: %v", err)
	}
	return req.Spec
}

// TestPayloadTravelsAsBytes: a request that is not UTF-8, or read from a
// file that is gone by the time the child validates, reaches the child
// byte for byte.
func TestPayloadTravelsAsBytes(t *testing.T) {
	raw := "\xff\x00ab"
	s := specFromArgs(t, "--request", raw, "-n", "10")
	if got := string(childCopy(t, s).Config("per-request", netip.AddrPort{}).Request); got != raw {
		t.Errorf("literal: child sends %q, want %q", got, raw)
	}
	file := filepath.Join(t.TempDir(), "req")
	os.WriteFile(file, []byte("\xfe\xffpayload"), 0o600)
	s = specFromArgs(t, "--request", "@"+file, "-n", "10")
	os.Remove(file) // a pipe or a file gone: the child must not read it again
	if got := string(childCopy(t, s).Config("per-request", netip.AddrPort{}).Request); got != "\xfe\xffpayload" {
		t.Errorf("@FILE: child sends %q", got)
	}
}

// TestValidateIdempotent: a child's Validate of its parent's validated
// Spec derives the same run (the workload config, the listener).
func TestValidateIdempotent(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "100"},
		{"-w", "backlog", "-d", "1s"},
		{"-w", "churn", "--rate", "100:200", "-d", "2s", "--source", "127.0.0.2-127.0.0.9"},
		{"-w", "hold", "-n", "10", "--rate", "100", "--ping", "10ms"},
		{"--accept-pause", "1s:2s", "--fastopen", "--close", "rst"},
	} {
		s := specFromArgs(t, args...)
		c := childCopy(t, s)
		a, _ := json.Marshal(s.Config(s.Workload, netip.AddrPort{}))
		b, _ := json.Marshal(c.Config(c.Workload, netip.AddrPort{}))
		if string(a) != string(b) {
			t.Errorf("%q: parent config %s, child's %s", args, a, b)
		}
		if la, lb := fmt.Sprintf("%+v", s.ListenerConfig()), fmt.Sprintf("%+v", c.ListenerConfig()); la != lb {
			t.Errorf("%q: listener %s, child's %s", args, la, lb)
		}
	}
}

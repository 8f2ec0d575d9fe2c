package runner

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestPoolingFlags: the reuse flags take a count or duration in range, or
// inf; what they print parses back (compare turns flags back into
// arguments); bad values and a workload that has no pool are usage errors
// naming the flag.
func TestPoolingFlags(t *testing.T) {
	s := specFromArgs(t, "--requests-per-conn", "10", "--max-conn-age", "2s", "-n", "10")
	if s.Workload != "pooled" {
		t.Errorf("reuse flags without --workload: workload %q, want pooled", s.Workload)
	}
	cfg := s.Config(s.Workload, netip.MustParseAddrPort("127.0.0.1:9"))
	if cfg.RequestsPerConn != 10 || cfg.MaxConnAge != 2*time.Second {
		t.Errorf("config %d, %v; want 10, 2s", cfg.RequestsPerConn, cfg.MaxConnAge)
	}
	if c := childCopy(t, s); c.RequestsPerConn != 10 || c.MaxConnAge != AgeLimit(2*time.Second) || c.Workload != "pooled" {
		t.Errorf("the child's spec: %v, %v, %s", c.RequestsPerConn, c.MaxConnAge, c.Workload)
	}
	if s := specFromArgs(t, "--requests-per-conn", "inf", "--idle-close", "50ms", "-n", "10"); s.RequestsPerConn != 0 || s.Workload != "pooled" ||
		s.ListenerConfig().IdleClose != 50*time.Millisecond {
		t.Errorf("inf: %v, workload %s, idle close %v", s.RequestsPerConn, s.Workload, s.ListenerConfig().IdleClose)
	}
	if pc := specFromArgs(t, "-w", "per-request", "-n", "10").Config("per-request", netip.AddrPort{}); pc.RequestsPerConn != 0 {
		t.Errorf("per-request got a reuse limit")
	}
	for _, v := range []string{"1", "1000000000", "inf", "INF"} {
		var r ReuseCount
		if err := r.Set(v); err != nil {
			t.Errorf("--requests-per-conn %s: %v", v, err)
		}
		var back ReuseCount
		if err := back.Set(r.String()); err != nil || back != r {
			t.Errorf("--requests-per-conn %s: String %q does not parse back (%v)", v, r.String(), err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--requests-per-conn", "0"}, "--requests-per-conn"},
		{[]string{"--requests-per-conn", "1000000001"}, "--requests-per-conn"},
		{[]string{"--requests-per-conn", "-3"}, "--requests-per-conn"},
		{[]string{"--requests-per-conn", "ten"}, "--requests-per-conn"},
		{[]string{"--max-conn-age", "10us"}, "--max-conn-age"},
		{[]string{"--max-conn-age", "-1s"}, "--max-conn-age"},
		{[]string{"--max-conn-age", "1000h"}, "--max-conn-age"},
		{[]string{"--idle-close", "100us"}, "--idle-close"},
		{[]string{"-w", "per-request", "--requests-per-conn", "5"}, "--requests-per-conn"},
		{[]string{"-w", "churn", "--rate", "10", "--max-conn-age", "1s"}, "--max-conn-age"},
	} {
		err := parseSpec(append(tc.args, "-n", "10"))
		var u UsageError
		if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error naming %s", tc.args, err, tc.want)
		}
	}
	if err := specOf(t, "--idle-close", "1s", "-n", "1").CheckTarget(netip.MustParseAddrPort("127.0.0.1:80")); err == nil {
		t.Errorf("--idle-close against an external target was accepted")
	}
}

func specOf(t *testing.T, args ...string) *Spec {
	t.Helper()
	return specFromArgs(t, args...)
}

// parseSpec parses and validates args as `connbench run` would.
func parseSpec(args []string) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := &Spec{}
	s.DefineFlags(func(string) *pflag.FlagSet { return fs }, false)
	if err := fs.Parse(args); err != nil {
		return Usagef("%v", err) // as the commands' flag parsing makes it
	}
	s.Set = map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { s.Set[f.Name] = true })
	return s.Validate()
}

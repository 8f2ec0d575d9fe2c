package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestPoolingCurveCompare: compare --vary requests-per-conn=1,4,inf runs a
// pooled variant per value against the built-in listener (the workload
// pooled without -w), each recycling at its limit, and prints the curve.
func TestPoolingCurveCompare(t *testing.T) {
	out := filepath.Join(t.TempDir(), "curve.json")
	code, stdout, stderr := connbench(t, "compare", "--no-isolate", "-n", "400", "-c", "2", "--close", "rst",
		"--vary", "requests-per-conn=1,4,inf", "-o", out, "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 3 {
		t.Fatalf("%d runs, want 3", len(doc.Runs))
	}
	for i, want := range []struct {
		value string
		lo    int64 // accepted by the listener: ceil(400/N) to that + c-1
		hi    int64
	}{{"1", 400, 401}, {"4", 100, 101}, {"inf", 2, 2}} {
		r := doc.Runs[i]
		if r.Workload != "pooled" || r.Settings["requests-per-conn"] != want.value || r.Listener == nil {
			t.Fatalf("run %d: workload %s, settings %v, listener %v", i, r.Workload, r.Settings, r.Listener)
		}
		if r.Counts.Transactions != 400 || r.Listener.Accepted < want.lo || r.Listener.Accepted > want.hi {
			t.Errorf("requests-per-conn=%s: %d transactions, listener accepted %d; want 400, %d to %d",
				want.value, r.Counts.Transactions, r.Listener.Accepted, want.lo, want.hi)
		}
		if (want.value == "inf") != (r.Pooling == nil) {
			t.Errorf("requests-per-conn=%s: pooling record %+v", want.value, r.Pooling)
		}
	}
	if !strings.Contains(stdout, "pooling curve: requests-per-conn") || len(doc.CurveNotes) != 1 {
		t.Errorf("no curve or curve note (%q) in:\n%s", doc.CurveNotes, stdout)
	}
	for _, args := range [][]string{
		{"compare", "--vary", "requests-per-conn=1,0"},
		{"compare", "--vary", "max-conn-age=1s,soon"},
		{"compare", "-w", "per-request", "--vary", "requests-per-conn=1,inf"},
	} {
		if code, _, stderr := connbench(t, args...); code != exitUsage || !strings.Contains(stderr, strings.SplitN(args[len(args)-1], "=", 2)[0]) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error naming the flag", args, code, stderr)
		}
	}
}

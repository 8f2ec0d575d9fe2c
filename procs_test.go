package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestProcsMergeExactly: --procs 2 splits a pooled run over two processes
// (and the built-in listener into its own), and the merged document holds
// the whole load: every transaction, every connection, one histogram.
func TestProcsMergeExactly(t *testing.T) {
	t.Setenv(mainEnv, "1") // the children are this test binary, as connbench
	out := filepath.Join(t.TempDir(), "p.json")
	code, stdout, stderr := connbench(t, "run", "-w", "pooled", "-c", "6", "-n", "400", "--procs", "2", "-o", out, "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := doc.Runs[0]
	if r.Counts.Transactions != 400 || r.Counts.Connections != 6 || r.FailuresTotal != 0 {
		t.Errorf("merged: %d transactions, %d connections, failures %v; want 400, 6, none", r.Counts.Transactions, r.Counts.Connections, r.Failures)
	}
	if c := r.Phases["transaction"].Count; c != 400 {
		t.Errorf("merged transaction histogram holds %d values, want 400", c)
	}
	if !strings.Contains(stdout, "made by 2 connbench processes") {
		t.Errorf("table does not say how it was made:\n%s", stdout)
	}
	if code, _, stderr := connbench(t, "run", "--procs", "x"); code != exitUsage || !strings.Contains(stderr, "--procs") {
		t.Errorf("--procs x: exit %d %q", code, stderr)
	}
}

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestIsolatedVariantsCountOwnSockets: a compare variant made in a fresh
// network namespace counts its own sockets only, and says so.
func TestIsolatedVariantsCountOwnSockets(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "c.json")
	code, _, stderr := connbench(t, "compare", "-w", "per-request", "-c", "2", "-d", "300ms", "--vary", "close=fin,rst", "-o", out, "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Runs {
		if r.Kernel == nil || r.Kernel.Scope != "namespace" {
			t.Errorf("%s: kernel %+v, want scope namespace", r.Label, r.Kernel)
		}
	}
}

// TestLoopThreadCPUExact: the result carries the loop threads' exact CPU
// time beside the tick-sampled user/system split, and the table shows it
// per transaction.
func TestLoopThreadCPUExact(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := connbench(t, "run", "-w", "per-request", "-c", "2", "-n", "300", "-o", out, "--quiet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := doc.Runs[0].CPU; c.ThreadNs <= 0 {
		t.Errorf("cpu %+v: no exact thread CPU time", c)
	}
	if !strings.Contains(stdout, "client CPU µs/txn ") {
		t.Errorf("table lacks the exact client CPU row:\n%s", stdout)
	}
}

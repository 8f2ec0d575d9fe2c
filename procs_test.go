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

// TestProcsHoldLanes: a hold split over processes opens in lanes against
// listener processes of their own, holds every connection at once, and
// records the listeners' memory apart from the clients'.
func TestProcsHoldLanes(t *testing.T) {
	t.Setenv(mainEnv, "1")
	out := filepath.Join(t.TempDir(), "h.json")
	code, _, stderr := connbench(t, "run", "-w", "hold", "-n", "900", "--rate", "6000", "-d", "60ms", "--interval", "20ms", "--procs", "3", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(doc.Runs[0].Notes, "\n"); !strings.Contains(notes, "opened at a time") || !strings.Contains(notes, "3 listener processes") {
		t.Errorf("the notes do not say the run opened in lanes against paired listeners:\n%s", notes)
	}
	h := doc.Runs[0].Hold
	if h == nil || h.Opened != 900 || h.Held != 900 || doc.Runs[0].FailuresTotal != 0 {
		t.Fatalf("hold %+v, failures %v; want 900 opened and held", h, doc.Runs[0].Failures)
	}
	if h.ListenerProcs != 3 || h.ListenerRSSGrowthBytes < 0 {
		t.Errorf("listener processes %d, growth %d; want 3 and a reading", h.ListenerProcs, h.ListenerRSSGrowthBytes)
	}
	// Every connection was held at once: some interval ends with all 900
	// open (the merged series sums the processes' open connections).
	// The processes open in turns of 100 ms (300 each at 3,000/s, two at
	// a time) and hold 60 ms: without the barrier the first would have
	// closed its share before the third opened its own.
	peak := 0
	for _, iv := range doc.Runs[0].Series {
		peak = max(peak, iv.Inflight) // summed over the processes by the merge
	}
	if peak != 900 {
		t.Errorf("at most %d connections open at an interval's end, want all 900 at once", peak)
	}
}

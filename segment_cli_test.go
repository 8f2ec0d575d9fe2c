package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSegmentRunDocument: a --segment run against the built-in listener
// does its share of -n and records its run id, segment and the whole run's
// spec; begun late after --start-at, it says so; --jsonl writes one line.
func TestSegmentRunDocument(t *testing.T) {
	dir := t.TempDir()
	past := strconv.FormatInt(time.Now().Add(-2*time.Second).Unix(), 10)
	out := filepath.Join(dir, "seg.json")
	code, _, stderr := connbench(t, "run", "-n", "21", "-c", "4", "--loops", "1", "--segment", "1/4", "--start-at", past, "-q", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	d := readDoc(t, out)
	r := d.Runs[0]
	if d.Segment == nil || d.Segment.Of != 4 || strings.Join(d.Segment.Parts, ",") != "1/4" || d.RunID == "" {
		t.Fatalf("segment %+v run id %q", d.Segment, d.RunID)
	}
	var spec struct {
		Requests    int64 `json:"requests"`
		Concurrency int   `json:"concurrency"`
	}
	if err := json.Unmarshal(d.Segment.Spec, &spec); err != nil || spec.Requests != 21 || spec.Concurrency != 4 {
		t.Fatalf("whole spec %s: %v", d.Segment.Spec, err)
	}
	// Segment 1 of 4 of 21: indexes 1, 5, 9, 13, 17.
	if r.Counts.Transactions+r.FailuresTotal != 5 {
		t.Errorf("%d transactions and %d failures, want 5 in all", r.Counts.Transactions, r.FailuresTotal)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "segment 1/4 began") || !strings.Contains(stderr, "segment 1/4 began") {
		t.Errorf("no note of the late start: %q / %q", r.Notes, stderr)
	}
	code, stdout, stderr := connbench(t, "run", "-n", "4", "-c", "1", "--loops", "1", "-q", "--jsonl", "-o", "-")
	if code != exitOK || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, `{"schema":"connbench/v1"`) {
		t.Fatalf("--jsonl: exit %d, %d lines, %.40q; %s", code, strings.Count(stdout, "\n"), stdout, stderr)
	}
}

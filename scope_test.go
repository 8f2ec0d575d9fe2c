package main

import (
	"path/filepath"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestIsolatedVariantsCountOwnSockets: a compare variant made in a fresh
// network namespace counts its own sockets only, and says so.
func TestIsolatedVariantsCountOwnSockets(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "c.json")
	code, _, stderr := cli(t, "compare", "-w", "per-request", "-c", "2", "-d", "300ms", "--vary", "close=fin,rst", "-o", out, "--quiet")
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

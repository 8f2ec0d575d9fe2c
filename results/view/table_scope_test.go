package view

import (
	"regexp"
	"testing"

	"github.com/connbench/connbench/results"
)

// The socket-state rows say which sockets they count: a shared namespace's
// figures carry the sockets present at the start, a run's own namespace
// says so, and an older result without a scope prints the bare figure.
func TestTableSocketScope(t *testing.T) {
	doc := tableDoc(false)
	host, ns := &doc.Runs[0], &doc.Runs[1]
	host.Kernel = &results.Kernel{Samples: 2, Scope: "host", PortRangeSize: 28_232, Sources: 1,
		PeakStates: map[string]int{"time_wait": 4_221}, PeakPortsInUse: 4_230,
		StatesAtStart: map[string]int{"time_wait": 4_221, "established": 2}}
	ns.Kernel = &results.Kernel{Samples: 2, Scope: "namespace", PortRangeSize: 28_232, Sources: 1,
		PeakStates: map[string]int{"time_wait": 14_385}, PeakPortsInUse: 14_385}
	out := string(render(t, doc))
	for _, re := range []string{
		`(?m)^ +TIME_WAIT peak +4,221 \(4,221 present at start\) +14,385 \(own namespace\) *$`,
		`(?m)^ +ports in use peak +4,230 of 28,232 \(4,223 present at start\) +14,385 of 28,232 \(own namespace\) *$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("table has no line matching %s:\n%s", re, out)
		}
	}

	host.Kernel.Scope, host.Kernel.StatesAtStart = "", nil
	ns.Kernel.Scope = ""
	out = string(render(t, doc))
	if !regexp.MustCompile(`(?m)^ +TIME_WAIT peak +4,221 +14,385 *$`).MatchString(out) {
		t.Errorf("a result without a scope is annotated:\n%s", out)
	}
}

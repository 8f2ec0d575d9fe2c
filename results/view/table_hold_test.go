package view

import (
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestTableHoldClose: the table says how a hold closed its connections and
// the TIME_WAIT that left; older documents, without the close, show a dash.
func TestTableHoldClose(t *testing.T) {
	run := func(label string, h results.Hold) results.Run {
		h.Asked, h.Opened, h.Held, h.OpenNs = 1000, 1000, 1000, 1_000_000_000
		return results.Run{Label: label, Workload: "hold", Target: "127.0.0.1:9", DurationNs: 2_000_000_000,
			Counts: results.Counts{Connections: 1000}, Failures: map[string]int64{}, Hold: &h}
	}
	doc := &results.Document{Schema: results.Schema, Runs: []results.Run{
		run("rst", results.Hold{Close: "rst", TimeWaitLeft: 0}),
		run("fin", results.Hold{Close: "fin", TimeWaitLeft: 1916}),
		run("uncounted", results.Hold{Close: "fin", TimeWaitLeft: -1}),
		run("old", results.Hold{}),
	}}
	var line string
	for _, l := range strings.Split(string(render(t, doc)), "\n") {
		if strings.Contains(l, "close at the end") {
			line = l
		}
	}
	for _, want := range []string{"rst: 0 TIME_WAIT left", "fin: 1,916 TIME_WAIT left", "fin (TIME_WAIT left not counted)", "—"} {
		if !strings.Contains(line, want) {
			t.Errorf("close row %q lacks %q", line, want)
		}
	}
}

package view

import (
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// Labels, failure classes (from errors a server caused), notes and counter
// names from a hostile file reach the table without their control
// characters, and the table keeps its rows.
func TestTableStripsControlCharacters(t *testing.T) {
	doc, _ := sampleDoc(t)
	clean := func() string {
		var b strings.Builder
		if err := WriteTable(&b, doc); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	lines := strings.Count(clean(), "\n")
	r := &doc.Runs[0]
	r.Label = "evil\x1b]0;pwned\x07\x1b[2J\nlabel"
	r.Failures = map[string]int64{"ECONN\x1b[31mRESET\r": 3}
	r.FailuresTotal = 3
	r.Notes = append(r.Notes, "server said \u009b6n\x1b[6nhello\x7f")
	got := clean()
	if bad := controlIn(got, true); bad >= 0 {
		t.Fatalf("table holds %U:\n%q", bad, got)
	}
	if strings.Contains(got, "pwned") {
		t.Errorf("the window title escape was printed as text: %q", got)
	}
	for _, want := range []string{"evil label", "ECONNRESET", "server said hello"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lost %q:\n%s", want, got)
		}
	}
	// One more row for the failure class, one more line for the note; the
	// label's newline did not start a row.
	if n := strings.Count(got, "\n"); n > lines+3 {
		t.Errorf("%d lines, was %d: a newline from the file broke the table:\n%s", n, lines, got)
	}
	var rep strings.Builder
	src := []results.Source{{Name: "a\x1b[1m.json", Doc: doc}, {Name: "b.json", Doc: doc}}
	if err := WriteReport(&rep, src); err != nil {
		t.Fatal(err)
	}
	if bad := controlIn(rep.String(), true); bad >= 0 {
		t.Errorf("report holds %U", bad)
	}
	var csvOut strings.Builder
	if err := WriteCSV(&csvOut, src); err != nil {
		t.Fatal(err)
	}
	if err := WriteSeriesCSV(&csvOut, src); err != nil {
		t.Fatal(err)
	}
	if bad := controlIn(csvOut.String(), true); bad >= 0 || !strings.Contains(csvOut.String(), "ECONNRESET") {
		t.Errorf("csv holds %U or lost the failure class:\n%s", bad, csvOut.String())
	}
	var hgrm strings.Builder
	if _, err := WriteHgrm(&hgrm, src, results.PhaseOrder); err != nil {
		t.Fatal(err)
	}
	if bad := controlIn(hgrm.String(), true); bad >= 0 {
		t.Errorf("hgrm holds %U", bad)
	}
	for _, l := range strings.Split(hgrm.String(), "\n") {
		if strings.Contains(l, "pwned") || (strings.Contains(l, "label") && !strings.HasPrefix(l, "# ")) {
			t.Errorf("hgrm line %q: a label left its comment line", l)
		}
	}
}

package view

import (
	"regexp"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// TestTableNotes: with several variants, a note every variant has is
// printed once without a label; the others under their variant; notes
// that report that nothing happened are left out of the text (they stay
// in the document).
func TestTableNotes(t *testing.T) {
	quiet := NothingNote + "port exhaustion: predicted: no exhaustion expected; seen: no EADDRNOTAVAIL happened."
	doc := tableDoc(false)
	third := doc.Runs[1]
	third.Label = "per-request, close=rst"
	doc.Runs = append(doc.Runs, third)
	doc.Runs[0].Notes = []string{"shared", quiet, "pooled only"}
	doc.Runs[1].Notes = []string{quiet, "shared", "two of three"}
	doc.Runs[2].Notes = []string{"shared", "two of three", quiet}
	out := string(render(t, doc))
	for _, want := range []string{
		"\nnote: shared\n",
		"\nnote (pooled): pooled only\n",
		"\nnote (per-request): two of three\n",
		"\nnote (per-request, close=rst): two of three\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("notes lack %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "shared"); n != 1 {
		t.Errorf("the common note is printed %d times:\n%s", n, out)
	}
	if strings.Contains(out, "no exhaustion expected") || strings.Contains(out, "nothing happened") {
		t.Errorf("a note that nothing happened reached the text:\n%s", out)
	}
	if len(doc.Runs[0].Notes) != 3 {
		t.Errorf("rendering changed the document's notes: %q", doc.Runs[0].Notes)
	}

	// One run: its notes under its label, still without the quiet one.
	one := tableDoc(false)
	one.Runs = one.Runs[1:]
	one.Runs[0].Notes = []string{quiet, "the built-in listener ran in this process on the same CPUs."}
	out = string(render(t, one))
	if !strings.Contains(out, "note (per-request): the built-in listener") || strings.Contains(out, "no exhaustion") {
		t.Errorf("one run's notes:\n%s", out)
	}
}

func TestIsNothingNote(t *testing.T) {
	if !IsNothingNote(NothingNote+"x") || IsNothingNote("x "+NothingNote) || IsNothingNote("") {
		t.Error("IsNothingNote tests the prefix only")
	}
}

// TestTableStallRows: the stall, what stopped --until-exhausted and the
// engine's figures get rows when a run has them, and none otherwise.
func TestTableStallRows(t *testing.T) {
	doc := tableDoc(false)
	if out := string(render(t, doc)); strings.Contains(out, "stall") || strings.Contains(out, "connect()") {
		t.Errorf("rows for figures no run has:\n%s", out)
	}
	r := &doc.Runs[1]
	r.Schedule = &results.Schedule{RatePerSec: 2000, Behind: 26_526}
	r.Exhaustion = &results.Exhaustion{PredictedNs: 14_100_000_000, FirstAddrNotAvailNs: -1, PredictedStallNs: 7_060_000_000,
		StallNs: 7_200_000_000, Stopped: true, StoppedBy: "port_search_stall"}
	r.Engine = &results.Engine{ConnectCalls: 17_474, ConnectCallNs: 16_000_000_000, LoopBusyNs: 17_000_000_000, TimerLateMaxNs: 8_300_000_000}
	out := string(render(t, doc))
	for _, re := range []string{
		`(?m)^ +predicted port-search stall +none +at 7\.06 s *$`,
		`(?m)^ +port-search stall +never +at 7\.20 s *$`,
		`(?m)^ +--until-exhausted stopped at +— +the stall *$`,
		`(?m)^ +loops' time in connect\(\) +— +94% \(916 µs per call\) *$`,
		`(?m)^ +timers late, max +— +8\.30 s *$`,
		`(?m)^ +starts held by --max-inflight +— +0 *$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("table has no line matching %s:\n%s", re, out)
		}
	}
}

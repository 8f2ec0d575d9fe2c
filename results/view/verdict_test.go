package view

import (
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// verdictRun is one run of n transactions at rate/s with the given p99.
func verdictRun(label string, n int64, rate float64, p99 int64) *results.Run {
	return &results.Run{Label: label, Workload: "per-request",
		Counts: results.Counts{Transactions: n}, Rates: results.Rates{TransactionsPerSec: rate},
		Phases: map[string]results.Phase{"transaction": summary(n, p99/4, p99/2, p99, p99, p99)}}
}

func group(runs ...*results.Run) results.Group {
	return results.Group{Label: runs[0].Label, Runs: runs}
}

// TestVerdictSampleSize: a verdict needs MinVerdictCount samples in every
// run of both variants, and a p99 comparison MinP99Count.
func TestVerdictSampleSize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base, v results.Group
		want    []string
		notWant []string
	}{
		{
			// The case: a baseline of 6 transactions.
			name:    "baseline of 6",
			base:    group(verdictRun("a", 6, 3, 1_000_000)),
			v:       group(verdictRun("b", 5000, 2500, 4_919_000)),
			want:    []string{"sample too small for a verdict: 6 transactions in the baseline, 5,000 here (a verdict needs 100 per run)"},
			notWant: []string{"faster", "p99", "%"},
		},
		{
			name:    "variant of 99",
			base:    group(verdictRun("a", 5000, 2500, 1_000_000)),
			v:       group(verdictRun("b", 99, 50, 1_000_000)),
			want:    []string{"sample too small", "99 here"},
			notWant: []string{"slower"},
		},
		{
			name: "one small repetition is enough to withhold it",
			base: group(verdictRun("a", 5000, 2500, 1_000_000), verdictRun("a", 50, 2500, 1_000_000)),
			v:    group(verdictRun("b", 5000, 2600, 1_000_000), verdictRun("b", 5000, 2600, 1_000_000)),
			want: []string{"sample too small", "50 transactions in the baseline"},
		},
		{
			name:    "100 to 999: a rate verdict without p99",
			base:    group(verdictRun("a", 500, 250, 1_000_000)),
			v:       group(verdictRun("b", 800, 400, 5_000_000)),
			want:    []string{"faster (one run each", "+60.0% transactions/s", "p99 not compared (under 1,000 transactions per run)"},
			notWant: []string{"+400.0%"},
		},
		{
			name: "enough for both",
			base: group(verdictRun("a", 5000, 2500, 1_000_000)),
			v:    group(verdictRun("b", 5000, 2000, 2_000_000)),
			want: []string{"slower (one run each", "-20.0% transactions/s", "p99 transaction +100.0%"},
		},
		{
			name: "failures still shown with a small sample",
			base: group(verdictRun("a", 6, 3, 1_000_000)),
			v:    func() results.Group { r := verdictRun("b", 6, 3, 1_000_000); r.FailuresTotal = 40; return group(r) }(),
			want: []string{"sample too small", "failures 0 → 40"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Verdict(tc.base, tc.v)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("verdict %q lacks %q", got, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("verdict %q says %q", got, w)
				}
			}
		})
	}
}

// TestVerdictHandshakeSample: for runs that only connect the sample is the
// handshakes, not the (zero) transactions.
func TestVerdictHandshakeSample(t *testing.T) {
	churn := func(label string, n int64, rate float64) *results.Run {
		return &results.Run{Label: label, Workload: "churn", Counts: results.Counts{Connections: n},
			Rates:  results.Rates{TransactionsPerSec: rate},
			Phases: map[string]results.Phase{"handshake": summary(n, 50_000, 80_000, 100_000, 100_000, 100_000)}}
	}
	got := Verdict(group(churn("a", 20_000, 2000)), group(churn("b", 20_000, 2000)))
	if !strings.HasPrefix(got, "about the same") {
		t.Errorf("20,000 handshakes each: %q", got)
	}
	got = Verdict(group(churn("a", 20_000, 2000)), group(churn("b", 40, 4)))
	if !strings.Contains(got, "20,000 handshakes in the baseline, 40 here") {
		t.Errorf("40 handshakes: %q", got)
	}
}

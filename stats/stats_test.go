package stats

import (
	"math"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

func TestCompareClearlyDifferent(t *testing.T) {
	base := []float64{100, 101, 99, 102, 98, 100}
	new := []float64{120, 121, 119, 122, 118, 120}
	c := Compare(base, new)
	if !c.Significant || !c.Testable {
		t.Fatalf("got %+v, want significant", c)
	}
	if math.Abs(c.Delta-0.20) > 1e-9 {
		t.Errorf("delta %v, want +20%%", c.Delta)
	}
	if c.P >= 0.01 {
		t.Errorf("p %v: 6 vs 6 with no overlap gives p ≈ 0.002", c.P)
	}
	if !c.Base.Finite() || !c.New.Finite() {
		t.Errorf("6 runs must give finite intervals: %+v %+v", c.Base, c.New)
	}
	if c.Base.Lo > 100 || c.Base.Hi < 100 || c.Base.Center != 100 {
		t.Errorf("base summary %+v: median 100 inside its interval", c.Base)
	}
}

func TestCompareIdentical(t *testing.T) {
	s := []float64{100, 101, 99, 102, 98, 100}
	c := Compare(s, s)
	if c.Significant || c.Delta != 0 || c.P < 0.5 {
		t.Errorf("identical samples: %+v, want not significant, delta 0", c)
	}
	// Overlapping samples, different medians: not significant.
	c = Compare([]float64{100, 105, 95, 110, 90, 100}, []float64{102, 96, 108, 93, 101, 99})
	if c.Significant {
		t.Errorf("overlapping samples: %+v, want not significant", c)
	}
	// All zero on both sides (failures of clean runs): nothing differs.
	z := []float64{0, 0, 0, 0, 0, 0}
	if c := Compare(z, z); c.Significant || c.Delta != 0 || c.P != 1 {
		t.Errorf("all zero: %+v", c)
	}
}

func TestCompareTooFew(t *testing.T) {
	// 3+3 runs apart as far as can be: still not significant (smallest p 0.1).
	c := Compare([]float64{1, 2, 3}, []float64{100, 200, 300})
	if c.Significant || c.Testable {
		t.Errorf("3+3: %+v, want untestable", c)
	}
	if c.Base.Finite() {
		t.Errorf("3 runs: interval %+v, want infinite", c.Base)
	}
	// 4+4 apart: significant (p = 2/70), but no finite interval.
	c = Compare([]float64{1, 2, 3, 4}, []float64{100, 200, 300, 400})
	if !c.Significant || !c.Testable || c.Base.Finite() {
		t.Errorf("4+4: %+v, want significant, infinite interval", c)
	}
	for n, want := range map[int]string{1: "too few for any difference", 3: "too few for any difference", 4: "needs 6", 5: "needs 6", 6: "", 10: ""} {
		got := TooFew(n)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("TooFew(%d) = %q, want %q", n, got, want)
		}
	}
}

// The minimum sample sizes agree with benchmath's own: Summarize is
// finite from MinForInterval runs on, and Compare testable from MinForTest.
func TestMinimumsMatchBenchmath(t *testing.T) {
	seq := func(n int, off float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = off + float64(i)
		}
		return v
	}
	for n := 2; n <= 8; n++ {
		if got, want := Summarize(seq(n, 0)).Finite(), n >= MinForInterval; got != want {
			t.Errorf("%d runs: finite interval %v, want %v", n, got, want)
		}
		c := Compare(seq(n, 0), seq(n, 1000))
		if want := n >= MinForTest; c.Significant != want || c.Testable != want {
			t.Errorf("%d+%d runs fully apart: %+v, want significant and testable %v", n, n, c, want)
		}
	}
}

func run(rate float64, p99 int64, failures int64) *results.Run {
	r := &results.Run{Rates: results.Rates{TransactionsPerSec: rate}, FailuresTotal: failures,
		Counts: results.Counts{Transactions: int64(rate)}, CPU: results.CPU{ThreadNs: int64(rate) * 1000}}
	r.Phases = map[string]results.Phase{"transaction": {}}
	p := r.Phases["transaction"]
	p.Count, p.P50Ns, p.P99Ns, p.P999Ns = int64(rate), p99/2, p99, p99*2
	r.Phases["transaction"] = p
	return r
}

func TestCompareGroups(t *testing.T) {
	var a, b results.Group
	a.Label, b.Label = "pooled", "per-request"
	for i := range 6 {
		a.Runs = append(a.Runs, run(10000+float64(i), 100_000, 0))
		b.Runs = append(b.Runs, run(5000+float64(i), 100_000+int64(i%2), 0))
	}
	tab := CompareGroups([]results.Group{a, b})
	if tab.TooFew != "" {
		t.Errorf("6 runs each: TooFew %q", tab.TooFew)
	}
	got := map[string]*Change{}
	for _, r := range tab.Rows {
		if r.Cells[0].Change != nil {
			t.Errorf("%s: the baseline has a change", r.Metric.Name)
		}
		got[r.Metric.Name] = r.Cells[1].Change
	}
	if _, ok := got["p99(handshake)"]; ok {
		t.Errorf("rows include a phase no run has")
	}
	if c := got["rate"]; c == nil || !c.Significant || c.Delta > -0.49 || c.Delta < -0.51 {
		t.Errorf("rate: %+v, want significant -50%%", c)
	}
	if c := got["p99(transaction)"]; c == nil || c.Significant {
		t.Errorf("p99: %+v, want not significant", c)
	}
	if c := got["failures"]; c == nil || c.Significant || c.Delta != 0 {
		t.Errorf("failures: %+v, want ~", c)
	}
	if c := got["cpu"]; c == nil || c.Significant {
		t.Errorf("cpu per transaction (1 µs each side): %+v, want ~", c)
	}
	short := CompareGroups([]results.Group{{Label: "a", Runs: a.Runs[:2]}, {Label: "b", Runs: b.Runs[:2]}})
	if !strings.Contains(short.TooFew, "too few") {
		t.Errorf("2 runs: TooFew %q", short.TooFew)
	}
}

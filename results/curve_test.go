package results

import (
	"math"
	"testing"

	"github.com/connbench/connbench/histogram"
)

func pts(rates ...float64) []CurvePoint {
	var out []CurvePoint
	for i, r := range rates {
		reuse := math.Pow(10, float64(i))
		if i == len(rates)-1 {
			reuse = math.Inf(1)
		}
		out = append(out, CurvePoint{Reuse: reuse, TransactionsPerSec: r})
	}
	return out
}

// TestKnee: the knee is the least reuse within 10% of the pool's (the
// inf point's) rate, on fixed inputs.
func TestKnee(t *testing.T) {
	for _, tc := range []struct {
		name       string
		points     []CurvePoint
		knee, pool int
	}{
		{"a knee in the middle", pts(20_000, 60_000, 91_000, 99_000, 100_000), 2, 4},
		{"exactly 90% counts", pts(20_000, 90_000, 100_000), 1, 2},
		{"just under 90% does not", pts(20_000, 89_999, 100_000), 2, 2},
		{"even 1 is close", pts(95_000, 99_000, 100_000), 0, 2},
		{"faster than the pool", pts(20_000, 110_000, 100_000), 1, 2},
		{"none close: the pool itself", pts(10_000, 50_000, 100_000), 2, 2},
		{"no pool", []CurvePoint{{Reuse: 1, TransactionsPerSec: 5}, {Reuse: 10, TransactionsPerSec: 9}}, -1, -1},
		{"a pool that did nothing", pts(5, 0), -1, 1},
	} {
		k, p := Knee(tc.points)
		if k != tc.knee || p != tc.pool {
			t.Errorf("%s: knee %d, pool %d; want %d, %d", tc.name, k, p, tc.knee, tc.pool)
		}
	}
}

func curveRun(label, key, value string, rate float64, rep int) Run {
	return Run{Label: label, Repetition: rep, Settings: map[string]string{key: value, "protocol": "raw"},
		Rates: Rates{TransactionsPerSec: rate, ConnsPerSec: rate / 10}, Counts: Counts{Transactions: int64(rate)},
		CPU: CPU{ThreadNs: int64(rate) * 1000}, FailuresTotal: 0,
		Phases: map[string]Phase{"transaction": {Summary: summaryOf(int64(rate), 1000, 5000)}}}
}

// TestPoolingCurves: points ordered by reuse with inf last whatever the
// order run, medians of repetitions, other settings named, and no curve
// from a compare that varied something else.
func TestPoolingCurves(t *testing.T) {
	doc := &Document{}
	for rep := 1; rep <= 3; rep++ {
		for _, v := range []struct {
			val  string
			rate float64
		}{{"inf", 100_000}, {"10", 92_000}, {"1", 20_000}, {"100", 99_000}} {
			rate := v.rate + float64(rep-2)*1000 // medians: the rep-2 value
			doc.Runs = append(doc.Runs, curveRun("requests-per-conn="+v.val, "requests-per-conn", v.val, rate, rep))
		}
	}
	cs := PoolingCurves(doc)
	if len(cs) != 1 {
		t.Fatalf("%d curves, want 1", len(cs))
	}
	c := cs[0]
	var order []string
	for _, p := range c.Points {
		order = append(order, p.Value)
	}
	if got := order; len(got) != 4 || got[0] != "1" || got[1] != "10" || got[2] != "100" || got[3] != "inf" {
		t.Errorf("points in order %v, want [1 10 100 inf]", got)
	}
	if c.Pool != 3 || c.Knee != 1 || c.Others != "protocol=raw" || c.Key != "requests-per-conn" {
		t.Errorf("pool %d, knee %d, others %q, key %q; want 3, 1, protocol=raw, requests-per-conn", c.Pool, c.Knee, c.Others, c.Key)
	}
	if p := c.Points[1]; p.Runs != 3 || p.TransactionsPerSec != 92_000 || p.CPUNsPerTransaction != 1000 || p.TimeWaitPeak != -1 {
		t.Errorf("point 10: %+v; want 3 runs, 92,000/s, 1000 ns CPU, TIME_WAIT -1 (not sampled)", p)
	}
	if got := PoolingCurves(&Document{Runs: []Run{
		{Label: "a", Settings: map[string]string{"close": "fin"}}, {Label: "b", Settings: map[string]string{"close": "rst"}}}}); got != nil {
		t.Errorf("a compare of close modes made curves: %+v", got)
	}
	for _, tc := range []struct {
		key, v string
		want   float64
		ok     bool
	}{
		{"requests-per-conn", "inf", math.Inf(1), true},
		{"requests-per-conn", "5", 5, true},
		{"requests-per-conn", "0", 0, false},
		{"requests-per-conn", "x", 0, false},
		{"max-conn-age", "0", math.Inf(1), true},
		{"max-conn-age", "250ms", 0.25, true},
		{"max-conn-age", "-1s", 0, false},
	} {
		if got, ok := ParseReuse(tc.key, tc.v); got != tc.want || ok != tc.ok {
			t.Errorf("ParseReuse(%s, %q) = %v, %v; want %v, %v", tc.key, tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func summaryOf(count, p50, p99 int64) histogram.Summary {
	return histogram.Summary{Count: count, P50Ns: p50, P99Ns: p99}
}

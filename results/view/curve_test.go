package view

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// curveDoc is a compare of requests-per-conn=inf,1,10,100 (in that
// order), at fixed figures: 10 is the knee (92% of the pool's rate).
func curveDoc() *results.Document {
	doc := &results.Document{CurveNotes: []string{"a note on the curve"}}
	for _, v := range []struct {
		val                string
		rate, conns, p50us int64
	}{{"inf", 100_000, 8, 10}, {"1", 20_000, 20_000, 60}, {"10", 92_000, 9_200, 12}, {"100", 99_000, 990, 10}} {
		r := results.Run{Label: "requests-per-conn=" + v.val, Workload: "pooled", Settings: map[string]string{"requests-per-conn": v.val},
			DurationNs: 1e9, Counts: results.Counts{Transactions: v.rate, Connections: v.conns},
			Rates:  results.Rates{TransactionsPerSec: float64(v.rate), ConnsPerSec: float64(v.conns)},
			CPU:    results.CPU{ThreadNs: v.rate * 5_000},
			Phases: map[string]results.Phase{"transaction": summary(v.rate, v.p50us*1000, v.p50us*1500, v.p50us*3000, v.p50us*4000, v.p50us*5000)},
			Kernel: &results.Kernel{Samples: 2, PeakStates: map[string]int{"time_wait": int(v.conns)}},
		}
		if v.val != "inf" {
			r.Pooling = &results.Pooling{Recycled: v.conns}
		}
		doc.Runs = append(doc.Runs, r)
	}
	return doc
}

func TestCurveTable(t *testing.T) {
	out := string(render(t, curveDoc()))
	i := strings.Index(out, "pooling curve: requests-per-conn")
	if i < 0 {
		t.Fatalf("no pooling curve in:\n%s", out)
	}
	curve := out[i:]
	for _, re := range []string{
		`(?m)^\s+1\s+20,000\s+20%\s+60\.0 µs\s+180 µs\s+5\.00\s+20,000\s+20,000\s*$`,
		`(?m)^\s+10\s+92,000\s+92%.*← knee\s*$`,
		`(?m)^\s+100\s+99,000\s+99%.*990\s*$`,
		`(?m)^\s+inf\s+100,000\s+100%.*pool\s*$`,
		`(?m)^note: a note on the curve$`,
	} {
		if !regexp.MustCompile(re).MatchString(curve) {
			t.Errorf("curve lacks %s:\n%s", re, curve)
		}
	}
	// Least reuse first, inf last, whatever order the variants ran in.
	if a, b, c := strings.Index(curve, "\n                  1 "), strings.Index(curve, "\n                100 "), strings.Index(curve, "\n                inf "); !(a >= 0 && a < b && b < c) {
		t.Errorf("rows out of order (%d, %d, %d):\n%s", a, b, c, curve)
	}
	if !regexp.MustCompile(`(?m)^\s+connections recycled\s+—\s+20,000\s+9,200\s+990\s*$`).MatchString(out) {
		t.Errorf("no recycled row in:\n%s", out)
	}
	// A compare of something else has no curve.
	if other := string(render(t, tableDoc(false))); strings.Contains(other, "pooling curve") {
		t.Errorf("a pooled/per-request table shows a curve:\n%s", other)
	}
}

func TestCurveCharts(t *testing.T) {
	doc := curveDoc()
	for i := range doc.Runs {
		// The report decodes every histogram: give each run a real one.
		rec := histogram.New()
		p50 := doc.Runs[i].Phases["transaction"].P50Ns
		for k := 0; k < 100; k++ {
			rec.Record(p50 + int64(k)*p50/50)
		}
		ph, err := results.NewPhase(rec)
		if err != nil {
			t.Fatal(err)
		}
		doc.Runs[i].Phases["transaction"] = ph
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, []results.Source{{Name: "curve.json", Doc: doc}}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`data-chart="doc-1-curve-0-rate"`, `data-chart="doc-1-curve-0-latency"`, "pool (inf): 100,000/s", "knee: requests-per-conn=10", "log scale"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

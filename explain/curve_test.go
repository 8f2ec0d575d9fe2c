package explain

import (
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

func curveDoc(rates map[string]float64) *results.Document {
	doc := &results.Document{}
	for _, v := range []string{"1", "10", "100", "inf"} {
		rate, ok := rates[v]
		if !ok {
			continue
		}
		doc.Runs = append(doc.Runs, results.Run{Label: "requests-per-conn=" + v, Settings: map[string]string{"requests-per-conn": v},
			Rates: results.Rates{TransactionsPerSec: rate, ConnsPerSec: rate / 2}, Counts: results.Counts{Transactions: int64(rate)},
			CPU: results.CPU{ThreadNs: int64(rate) * 3000}})
	}
	return doc
}

func TestCurveNotes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rates map[string]float64
		want  []string
	}{
		{"a knee", map[string]float64{"1": 20_000, "10": 95_000, "100": 99_000, "inf": 100_000},
			[]string{"requests-per-conn=10 gets within 10% of a pool (95,000/s vs 100,000/s)", "at 1, 20,000/s with 10,000 new connections/s"}},
		{"no knee", map[string]float64{"1": 20_000, "10": 50_000, "inf": 100_000},
			[]string{"no finite requests-per-conn tried gets within 10% of a pool's 100,000/s", "the most reuse tried, 10, reaches 50,000/s"}},
		{"flat", map[string]float64{"1": 95_000, "inf": 100_000},
			[]string{"even requests-per-conn=1 is within 10% of a pool"}},
		{"no pool", map[string]float64{"1": 20_000, "10": 50_000},
			[]string{"no requests-per-conn=inf variant", "add inf"}},
	} {
		notes := CurveNotes(curveDoc(tc.rates))
		if len(notes) != 1 {
			t.Errorf("%s: %d notes: %q", tc.name, len(notes), notes)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(notes[0], w) {
				t.Errorf("%s: note %q lacks %q", tc.name, notes[0], w)
			}
		}
	}
	if n := CurveNotes(&results.Document{Runs: []results.Run{{Label: "pooled"}, {Label: "per-request"}}}); n != nil {
		t.Errorf("notes without a curve: %q", n)
	}
}

func TestPoolingNotes(t *testing.T) {
	r := &results.Run{Pooling: &results.Pooling{ServerClosed: 50, Retried: 3}}
	notes := poolingNotes(r)
	if len(notes) != 2 || !strings.Contains(notes[0], "3 requests met a pooled connection the server had closed") ||
		!strings.Contains(notes[1], "the server closed 50 pooled connections") {
		t.Errorf("notes %q", notes)
	}
	if n := poolingNotes(&results.Run{Pooling: &results.Pooling{Recycled: 100, ServerClosed: 2}}); len(n) != 0 {
		t.Errorf("a client-limited pool got notes %q", n)
	}
}

package workloads

import (
	"math/rand/v2"
	"testing"

	"github.com/connbench/connbench/histogram"
)

// TestIntervalSummary: the one-scan interval summary agrees with the full
// summary on everything it keeps (count, min, percentiles, max).
func TestIntervalSummary(t *testing.T) {
	if s := intervalSummary(histogram.New()); s != (histogram.Summary{}) {
		t.Errorf("empty: %+v", s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 17, 1000, 100000} {
		rec := histogram.New()
		for i := 0; i < n; i++ {
			rec.Record(int64(r.ExpFloat64()*50e3) + 3000)
		}
		got, full := intervalSummary(rec), rec.Summary()
		full.MeanNs, full.StddevNs = 0, 0
		if got != full {
			t.Errorf("n=%d: interval summary %+v, full %+v", n, got, full)
		}
	}
}

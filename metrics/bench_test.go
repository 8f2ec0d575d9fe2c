package metrics

import (
	"testing"

	"github.com/connbench/connbench/histogram"
)

// BenchmarkInterval: what one interval's histogram costs the run's
// coordinating goroutine when --metrics-addr is on (decode, then count
// into the buckets).
func BenchmarkInterval(b *testing.B) {
	r := histogram.New()
	for i := int64(0); i < 100000; i++ {
		r.Record(20_000 + i*37%5_000_000)
	}
	enc, err := r.Encode()
	if err != nil {
		b.Fatal(err)
	}
	h := phaseHist{counts: make([]uint64, len(Buckets))}
	b.ReportAllocs()
	for b.Loop() {
		bars, err := decodeBars(enc)
		if err != nil {
			b.Fatal(err)
		}
		h.add(bars)
	}
}

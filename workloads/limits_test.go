package workloads

import (
	"math"
	"net/netip"
	"testing"
)

// TestNormalizeBounds: a library caller cannot size an allocation past the
// documented bounds, nor pass a rate that is not a number.
func TestNormalizeBounds(t *testing.T) {
	target := netip.MustParseAddrPort("127.0.0.1:9")
	for name, c := range map[string]Config{
		"huge c":            {Target: target, Requests: 1, Concurrency: math.MaxInt},
		"c past MaxSlots":   {Target: target, Requests: 1, Concurrency: MaxSlots + 1},
		"huge max-inflight": {Target: target, Requests: 1, Rate: 10, MaxInflight: math.MaxInt},
		"huge hold":         {Workload: "hold", Target: target, Requests: MaxSlots + 1},
		"huge loops":        {Target: target, Requests: 1, Loops: math.MaxInt},
		"huge request":      {Target: target, Requests: 1, RequestSize: math.MaxInt},
		"NaN rate":          {Target: target, Requests: 1, Rate: math.NaN()},
		"NaN ramp end":      {Target: target, Duration: 1, Rate: 1, RateEnd: math.NaN()},
		"Inf rate":          {Target: target, Requests: 1, Rate: math.Inf(1)},
		"rate past MaxRate": {Target: target, Requests: 1, Rate: MaxRate * 2},
	} {
		if err := c.Normalize(2); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := Config{Target: target, Requests: 1, Concurrency: MaxSlots, Loops: MaxLoops, RequestSize: MaxRequestSize, Rate: MaxRate, MaxInflight: MaxSlots}
	if err := ok.Normalize(2); err != nil {
		t.Errorf("the bounds themselves: %v", err)
	}
}

package runner

import (
	"runtime"
	"testing"
	"time"
)

// TestHoldLanes: the processes of a hold split over processes open in
// turns, one per CPU at a time, each at rate/lanes, the schedule as a
// whole keeping the rate asked, once each child took its segment's
// share; each starts its turns at a different
// source; runs that are not a constant-rate hold keep rate/n.
func TestHoldLanes(t *testing.T) {
	s := specFromArgs(t, "-w", "hold", "-n", "60000", "--rate", "30000", "-d", "1s", "--source", "127.0.1.1-127.0.1.6")
	s.procsN = 6
	lanes := min(max(1, runtime.NumCPU()), 6)
	if got := s.holdLanes(); got != lanes {
		t.Fatalf("lanes %d, want %d", got, lanes)
	}
	lr := 30000 / float64(lanes)
	per := 60000 / 6.0
	firsts := map[string]bool{}
	for i := 0; i < 6; i++ {
		c := s.childSpec(i, time.Now())
		if err := c.takeSegment(); err != nil { // as the child does
			t.Fatalf("process %d: %v", i+1, err)
		}
		if c.Rate.Start != lr || c.Rate.End != 0 {
			t.Errorf("process %d: rate %v, want %v", i+1, c.Rate, lr)
		}
		want := time.Duration(float64(i/lanes) * per / lr * 1e9)
		if d := c.HoldDelay - want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("process %d: delay %v, want %v", i+1, c.HoldDelay, want)
		}
		if c.Loops != 1 {
			t.Errorf("process %d: %d loops, want 1 (the lanes are the parallelism)", i+1, c.Loops)
		}
		if len(c.Source.Addrs) != 6 {
			t.Fatalf("process %d: %d sources, want all 6", i+1, len(c.Source.Addrs))
		}
		firsts[c.Source.Addrs[0].String()] = true
	}
	if len(firsts) != 6 {
		t.Errorf("the processes start their turns at %d distinct sources, want 6", len(firsts))
	}
	ramp := specFromArgs(t, "-w", "hold", "-n", "60000", "--rate", "1000:30000", "-d", "1s")
	ramp.procsN = 6
	if ramp.holdLanes() != 0 || ramp.childSpec(5, time.Now()).HoldDelay != 0 {
		t.Errorf("a ramped hold opens in lanes")
	}
}

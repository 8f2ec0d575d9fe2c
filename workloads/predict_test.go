package workloads

import (
	"strings"
	"testing"
	"time"
)

func TestPredictExhaustion(t *testing.T) {
	noReuse := PortFacts{Ports: 28232, TwReuse: 0, Loopback: true}
	p := PredictExhaustion(noReuse, 1000, false)
	if p.At < 28*time.Second || p.At > 29*time.Second || !strings.Contains(p.Text, "28,232 ports at 1,000/s") {
		t.Errorf("28232 ports at 1000/s: %v %q", p.At, p.Text)
	}
	if p := PredictExhaustion(noReuse, 1000, true); p.At != -1 {
		t.Errorf("rst close predicted exhaustion at %v", p.At)
	}
	if p := PredictExhaustion(noReuse, 400, false); p.At != -1 {
		t.Errorf("400/s is under 28232/60: predicted %v", p.At)
	}
	two := PortFacts{Ports: 100, Sources: 4, TwReuse: 0}
	if p := PredictExhaustion(two, 100, false); p.At != 4*time.Second {
		t.Errorf("400 tuples at 100/s: %v", p.At)
	}
	loop := PortFacts{Ports: 28232, TwReuse: 2, Loopback: true}
	if p := PredictExhaustion(loop, 5000, false); p.At != -1 || !strings.Contains(p.Text, "tcp_tw_reuse=2") {
		t.Errorf("loopback with reuse=2: %v %q", p.At, p.Text)
	}
	remote := PortFacts{Ports: 28232, TwReuse: 2, Loopback: false}
	if p := PredictExhaustion(remote, 1000, false); p.At < 0 {
		t.Error("reuse=2 applies to loopback only, yet no exhaustion predicted for a remote target")
	}
}

// TestPredictSeveralSources: with several source addresses the range is
// per source, so the sustainable rate is the whole capacity over 60 s; a
// rate between one source's and all sources' is below it.
func TestPredictSeveralSources(t *testing.T) {
	f := PortFacts{Ports: 1000, Sources: 4} // sustains 4000/60 = 66.7/s; one source 16.7/s
	p := PredictExhaustion(f, 30, false)
	if p.At != -1 || !strings.Contains(p.Text, "no exhaustion expected") || !strings.Contains(p.Text, "sustains 66/s") {
		t.Errorf("1000 ports × 4 sources at 30/s (under 66.7/s): At %v, %q", p.At, p.Text)
	}
	// Above half the capacity's rate (33.3/s) the even ports still fill:
	// the stall is predicted though exhaustion is not.
	p = PredictExhaustion(f, 50, false)
	if p.At != -1 || p.StallAt != 40*time.Second {
		t.Errorf("4000 tuples at 50/s: At %v (want -1), StallAt %v (want 40s: 2000 even ports / 50/s)", p.At, p.StallAt)
	}
	p = PredictExhaustion(f, 30, false)
	if p.StallAt != -1 {
		t.Errorf("4000 tuples at 30/s keep 1800 in TIME_WAIT, under the 2000 even ports: StallAt %v", p.StallAt)
	}
	// Above the capacity's rate: exhaustion at capacity/rate, the stall
	// at half of it.
	p = PredictExhaustion(f, 100, false)
	if p.At != 40*time.Second || p.StallAt != 20*time.Second {
		t.Errorf("4000 tuples at 100/s: At %v StallAt %v, want 40s and 20s", p.At, p.StallAt)
	}
}

func TestPredictStall(t *testing.T) {
	// The run: 28,232 ports at 2,000/s stalled at about 7 s.
	p := PredictExhaustion(PortFacts{Ports: 28232, Loopback: true}, 2000, false)
	if p.StallAt < 7*time.Second || p.StallAt > 7100*time.Millisecond || !strings.Contains(p.Text, "even ports") {
		t.Errorf("28232 ports at 2000/s: StallAt %v (want 7.06s), %q", p.StallAt, p.Text)
	}
	for _, c := range []struct {
		name string
		f    PortFacts
		rst  bool
	}{
		{"rst", PortFacts{Ports: 28232}, true},
		{"reuse", PortFacts{Ports: 28232, TwReuse: 1}, false},
		{"no range", PortFacts{}, false},
	} {
		if p := PredictExhaustion(c.f, 2000, c.rst); p.StallAt != -1 {
			t.Errorf("%s: StallAt %v, want -1", c.name, p.StallAt)
		}
	}
}

func TestStallSeen(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name         string
		calls        int64
		conn, busy   time.Duration
		ports, prang int
		base         time.Duration
		want         bool
	}{
		{"port search", 1000, 900 * ms, 1000 * ms, 9000, 16000, 30 * time.Microsecond, true},
		{"cheap connects", 1000, 30 * ms, 50 * ms, 9000, 16000, 30 * time.Microsecond, false},
		{"connect a small share", 1000, 400 * ms, 1000 * ms, 9000, 16000, 30 * time.Microsecond, false},
		{"range mostly free", 1000, 900 * ms, 1000 * ms, 2000, 16000, 30 * time.Microsecond, false},
		{"not sampled", 1000, 900 * ms, 1000 * ms, -1, 16000, 30 * time.Microsecond, true},
		{"no connects", 0, 0, 1000 * ms, 9000, 16000, 30 * time.Microsecond, false},
		{"as slow as on a free range (a loaded machine)", 1000, 900 * ms, 1000 * ms, 9000, 16000, 400 * time.Microsecond, false},
		{"no baseline", 1000, 900 * ms, 1000 * ms, 9000, 16000, 0, false},
	} {
		if got := StallSeen(c.calls, c.conn, c.busy, c.ports, c.prang, c.base); got != c.want {
			t.Errorf("%s: StallSeen = %v, want %v", c.name, got, c.want)
		}
	}
}

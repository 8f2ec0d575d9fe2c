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

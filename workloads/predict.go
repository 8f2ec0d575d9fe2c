package workloads

import (
	"fmt"
	"time"
)

// TimeWaitLength is how long Linux keeps a socket in TIME_WAIT (TCP_TIMEWAIT_LEN).
const TimeWaitLength = 60 * time.Second

// PortFacts are the kernel settings that decide when ephemeral ports run out.
type PortFacts struct {
	// Ports is the size of the ephemeral range per source address.
	Ports int
	// Sources is the number of source addresses (0 or 1: one).
	Sources int
	// TwReuse is net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only.
	TwReuse int
	// ReuseDelay is net.ipv4.tcp_tw_reuse_delay (zero: 1 s).
	ReuseDelay time.Duration
	// Loopback is true when the target is a loopback address.
	Loopback bool
}

// Prediction is when connect() should start failing with EADDRNOTAVAIL.
type Prediction struct {
	// At is the predicted time of the first failure from the start of the
	// measured part; -1 when none is expected.
	At time.Duration
	// Text says why, with the figures.
	Text string
}

// PredictExhaustion predicts port exhaustion for new connections opened at
// rate per second toward one destination, closed as closeRST says. Each
// graceful close leaves the client's port in TIME_WAIT for 60 s; unless
// TIME_WAIT reuse applies, a range of P ports (times the source addresses)
// then lasts P/rate seconds at a rate above P/60 per second.
func PredictExhaustion(f PortFacts, rate float64, closeRST bool) Prediction {
	src := max(f.Sources, 1)
	capacity := f.Ports * src
	what := fmt.Sprintf("%s ports", count(capacity))
	if src > 1 {
		what = fmt.Sprintf("%s ports × %d source addresses", count(f.Ports), src)
	}
	switch {
	case rate <= 0 || capacity <= 0:
		return Prediction{At: -1, Text: "no prediction: no rate or no port range known"}
	case closeRST:
		return Prediction{At: -1, Text: "--close rst leaves no TIME_WAIT: ports are free again at once; no exhaustion expected"}
	}
	reuse := f.TwReuse == 1 || (f.TwReuse == 2 && f.Loopback)
	if reuse {
		delay := f.ReuseDelay
		if delay <= 0 {
			delay = time.Second
		}
		return Prediction{At: -1, Text: fmt.Sprintf("tcp_tw_reuse=%d lets connect() take over a TIME_WAIT port after %s, so %s turn over instead of running out: no EADDRNOTAVAIL expected, but connect() slows as it searches the range",
			f.TwReuse, delay, what)}
	}
	sustain := float64(capacity) / TimeWaitLength.Seconds()
	if rate <= sustain {
		return Prediction{At: -1, Text: fmt.Sprintf("%s at %s/s with 60 s TIME_WAIT: about %s ports stay in TIME_WAIT, under the range (it sustains %s/s): no exhaustion expected",
			what, count(int(rate)), count(int(rate*60)), count(int(sustain)))}
	}
	at := time.Duration(float64(capacity) / rate * float64(time.Second))
	return Prediction{At: at, Text: fmt.Sprintf("%s at %s/s with 60 s TIME_WAIT → failures from ~%s",
		what, count(int(rate)), at.Round(100*time.Millisecond))}
}

func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

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

// Prediction is when connect() should start failing with EADDRNOTAVAIL,
// and when its search for a free port should slow sharply before that.
type Prediction struct {
	// At is the predicted time of the first failure from the start of the
	// measured part; -1 when none is expected.
	At time.Duration
	// StallAt is when connect()'s port search is predicted to slow
	// sharply, from the start of the measured part: near half the range in
	// use, as connect() takes even ports first (Linux >= 4.2 leaves the
	// odd ones to bind()), and each later connect() walks the taken even
	// ports before it finds an odd one. -1 when none is expected.
	StallAt time.Duration
	// Text says why, with the figures.
	Text string
}

// PredictExhaustion predicts port exhaustion for new connections opened at
// rate per second toward one destination, closed as closeRST says. Each
// graceful close leaves the client's port in TIME_WAIT for 60 s; unless
// TIME_WAIT reuse applies, a range of P ports (times the source addresses)
// then lasts P/rate seconds at a rate above P/60 per second, and connect()
// slows from about P/2/rate seconds at a rate above P/120 per second (its
// even ports are taken; see Prediction.StallAt).
func PredictExhaustion(f PortFacts, rate float64, closeRST bool) Prediction {
	src := max(f.Sources, 1)
	capacity := f.Ports * src
	what := fmt.Sprintf("%s ports", count(capacity))
	if src > 1 {
		what = fmt.Sprintf("%s ports × %d source addresses", count(f.Ports), src)
	}
	switch {
	case rate <= 0 || capacity <= 0:
		return Prediction{At: -1, StallAt: -1, Text: "no prediction: no rate or no port range known"}
	case closeRST:
		return Prediction{At: -1, StallAt: -1, Text: "--close rst leaves no TIME_WAIT: ports are free again at once; no exhaustion expected"}
	}
	reuse := f.TwReuse == 1 || (f.TwReuse == 2 && f.Loopback)
	if reuse {
		delay := f.ReuseDelay
		if delay <= 0 {
			delay = time.Second
		}
		return Prediction{At: -1, StallAt: -1, Text: fmt.Sprintf("tcp_tw_reuse=%d lets connect() take over a TIME_WAIT port after %s, so %s turn over instead of running out: no EADDRNOTAVAIL expected, but connect() slows as it searches the range",
			f.TwReuse, delay, what)}
	}
	// Sustainable rates: the whole capacity (all sources) turned over
	// every 60 s, and half of it for connect()'s even ports.
	sustain := float64(capacity) / TimeWaitLength.Seconds()
	stallRate := sustain / 2
	stall := time.Duration(-1)
	stallText := ""
	if rate > stallRate {
		stall = time.Duration(float64(capacity) / 2 / rate * float64(time.Second))
		stallText = fmt.Sprintf("; connect() takes even ports first, so its port search slows sharply from ~%s (half the ports in use)",
			stall.Round(100*time.Millisecond))
	}
	if rate <= sustain {
		return Prediction{At: -1, StallAt: stall, Text: fmt.Sprintf("%s at %s/s with 60 s TIME_WAIT: about %s ports stay in TIME_WAIT, under the range (it sustains %s/s): no exhaustion expected%s",
			what, count(int(rate)), count(int(rate*60)), count(int(sustain)), stallText)}
	}
	at := time.Duration(float64(capacity) / rate * float64(time.Second))
	return Prediction{At: at, StallAt: stall, Text: fmt.Sprintf("%s at %s/s with 60 s TIME_WAIT → failures from ~%s%s",
		what, count(int(rate)), at.Round(100*time.Millisecond), stallText)}
}

func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

package runner

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/connbench/connbench/flood"
	"github.com/connbench/connbench/netpath"
	"github.com/connbench/connbench/results"
)

// experimentDefaults fills what the backlog and synflood workloads need
// when the user did not say: a small accept queue and a slow acceptor for
// backlog; an emulated path (the flood's namespaces) for synflood.
func (s *Spec) experimentDefaults() {
	switch s.Workload {
	case "backlog":
		if !s.changed("backlog") {
			s.Backlog = 16
		}
		if !s.changed("accept-delay") && !s.changed("accept-pause") {
			s.AcceptDelay = 10 * time.Millisecond
		}
		if !s.Rate.IsSet() {
			// Arrivals on a schedule, faster than the slow acceptor
			// takes them: the queue stays full and SYNs are dropped.
			s.Rate = Rate{Start: 500}
		}
	case "synflood":
		if s.pathCfg == nil {
			s.pathCfg = &netpath.Config{}
		}
		if !s.Rate.IsSet() {
			// Legitimate clients arrive on a schedule, as real ones do,
			// whether or not the ones before got through.
			s.Rate = Rate{Start: 200}
		}
		if !s.changed("connect-timeout") {
			s.ConnectTimeout = 3 * time.Second
		}
		if !s.changed("backlog") {
			// A common server backlog; the flood fills its SYN queue
			// (min(backlog, somaxconn)) within milliseconds.
			s.Backlog = 128
		}
	}
}

// startFlood starts the spoofed-SYN flood from the client namespace of em
// toward the listener, bounded to the run's length plus a margin.
func startFlood(em *emulated, target netip.AddrPort, rate float64, length time.Duration) (*flood.Flooder, error) {
	var f *flood.Flooder
	err := em.path.Client.Do(func() error {
		var err error
		f, err = flood.Start(flood.Config{Target: target, Rate: rate, Duration: length})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("synflood: %w", err)
	}
	return f, nil
}

// floodRecord describes the flood for the result.
func floodRecord(f *flood.Flooder, rate float64) *results.Flood {
	st := f.Stats()
	return &results.Flood{RatePerSec: rate, Sent: st.Sent, Errors: st.Errors, FirstError: st.FirstError, Sources: flood.Range.String()}
}

// pathSysctls is what an emulated path's namespaces get: the sysctls in
// force here, and those a compare variant set (varied), which the run's
// document may not record.
func pathSysctls(sysctls, varied map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range sysctls {
		out[k] = v
	}
	for k, v := range varied {
		out[k] = v
	}
	return out
}

package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/connbench/connbench/flood"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/netpath"
	"github.com/connbench/connbench/results"
)

// experimentDefaults fills what the backlog and synflood workloads need
// when the user did not say: a small accept queue and a slow acceptor for
// backlog; an emulated path (the flood's namespaces) for synflood.
func (o *runOptions) experimentDefaults() {
	switch o.workload {
	case "backlog":
		if !o.fs.Changed("backlog") {
			o.backlog = 16
		}
		if !o.fs.Changed("accept-delay") && !o.fs.Changed("accept-pause") {
			o.acceptDelay = 10 * time.Millisecond
		}
		if o.rate == "" {
			// Arrivals on a schedule, faster than the slow acceptor
			// takes them: the queue stays full and SYNs are dropped.
			o.rate, o.rateA = "500", 500
		}
	case "synflood":
		if o.pathCfg == nil {
			o.pathCfg = &netpath.Config{}
		}
		if o.rate == "" {
			// Legitimate clients arrive on a schedule, as real ones do,
			// whether or not the ones before got through.
			o.rate, o.rateA = "200", 200
		}
		if !o.fs.Changed("connect-timeout") {
			o.connectTimeout = 3 * time.Second
		}
		if !o.fs.Changed("backlog") {
			// A common server backlog; the flood fills its SYN queue
			// (min(backlog, somaxconn)) within milliseconds.
			o.backlog = 128
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

// variedSysctlsEnv carries the names of a compare variant's sysctls into
// the namespaced child, so that an emulated path copies them too.
const variedSysctlsEnv = "CONNBENCH_VARIED_SYSCTLS"

// pathSysctls is what an emulated path's namespaces get: the sysctls in
// force here, including any a compare variant set.
func pathSysctls(sysctls map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range sysctls {
		out[k] = v
	}
	if names := os.Getenv(variedSysctlsEnv); names != "" {
		for k, v := range kernel.ReadSysctls("", strings.Split(names, ",")) {
			out[k] = v
		}
	}
	return out
}

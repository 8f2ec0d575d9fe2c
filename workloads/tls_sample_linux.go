package workloads

import (
	"time"

	"github.com/connbench/connbench/kernel"
)

// tlsSampler is the TLS path's kernel sampling, as the engine's
// coordinator does it: the sockets toward the target by state and the
// local ports in use once per interval, and the key counters. It runs on
// the ticker's thread (in the client's namespace when spawned there).
type tlsSampler struct {
	s      *kernel.Sampler
	c0, ci kernel.Counters
	stats  KernelStats
	ok     bool // a sample succeeded
}

func newTLSSampler(cfg *Config) *tlsSampler {
	if cfg.NoSample {
		return nil
	}
	ts := &tlsSampler{stats: KernelStats{Scope: ScopeHost, PeakStates: map[string]int{}}}
	if cfg.OwnNamespace || cfg.Spawn != nil {
		ts.stats.Scope = ScopeNamespace
	}
	if s, err := kernel.NewSampler(); err == nil {
		ts.s = s
		if smp, err := s.Sample(kernel.Filter{Remote: cfg.Target}); err == nil {
			ts.stats.StatesAtStart = smp.States.Map()
		}
	}
	if c, err := kernel.ReadCounters(countersDir); err == nil {
		ts.c0, ts.ci = c, c
	}
	return ts
}

// interval fills iv's states, ports and counter deltas.
func (ts *tlsSampler) interval(cfg *Config, iv *Interval) {
	if ts == nil {
		return
	}
	if ts.s != nil {
		t0 := time.Now()
		if smp, err := ts.s.Sample(kernel.Filter{Remote: cfg.Target}); err == nil {
			ts.ok = true
			ts.stats.Samples++
			ts.stats.SampleMaxNs = max(ts.stats.SampleMaxNs, int64(time.Since(t0)))
			iv.States, iv.PortsInUse = smp.States.Map(), smp.LocalPorts
			ts.stats.PeakPortsInUse = max(ts.stats.PeakPortsInUse, smp.LocalPorts)
			for k, v := range iv.States {
				ts.stats.PeakStates[k] = max(ts.stats.PeakStates[k], v)
			}
		}
	}
	if ts.ci != nil {
		if c, err := kernel.ReadCounters(countersDir); err == nil {
			iv.Counters = keyDelta(c, ts.ci)
			ts.ci = c
		}
	}
}

// end closes the sampler and returns the run's kernel figures (nil when
// nothing was sampled).
func (ts *tlsSampler) end() *KernelStats {
	if ts == nil {
		return nil
	}
	if ts.s != nil {
		ts.s.Close()
	}
	if ts.c0 != nil {
		if c, err := kernel.ReadCounters(countersDir); err == nil {
			ts.stats.Counters = keyDelta(c, ts.c0)
		}
	}
	if !ts.ok && ts.stats.Counters == nil {
		return nil
	}
	s := ts.stats
	if !ts.ok {
		s.Scope, s.StatesAtStart = "", nil
	}
	return &s
}

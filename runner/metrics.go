package runner

import (
	"net/netip"
	"time"
)

// MaxMetricsLinger bounds --metrics-linger: how long a finished run keeps
// its metrics endpoint up for a last scrape.
const MaxMetricsLinger = time.Hour

// checkMetrics checks --metrics-addr (an IP address and a port; a port
// alone means 127.0.0.1) and --metrics-linger.
func (s *Spec) checkMetrics() error {
	s.metrics = netip.AddrPort{}
	if err := checkDur("metrics-linger", s.MetricsLinger, 0, MaxMetricsLinger); err != nil {
		return err
	}
	if s.MetricsAddr == "" {
		if s.MetricsLinger > 0 {
			return Usagef("--metrics-linger is for --metrics-addr")
		}
		return nil
	}
	a, err := ParseListenAddr(s.MetricsAddr)
	if err != nil {
		return Usagef("--metrics-addr: %v", err)
	}
	s.metrics = a
	return nil
}

// MetricsListen is where --metrics-addr asks the run's figures to be
// served (port 0: one the kernel picks); ok is false when it was not given.
// Valid after Validate.
func (s *Spec) MetricsListen() (addr netip.AddrPort, ok bool) {
	return s.metrics, s.metrics.IsValid()
}

package main

import (
	"fmt"
	"io"
	"net/netip"
	"sync"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

// connsNeeded is the most connections the run holds open at once, and the
// flag that sets it, for descriptor and process planning.
func (o *runOptions) connsNeeded() (int, string) {
	switch {
	case o.workload == "hold":
		return int(o.requests), fmt.Sprintf("-n %d", o.requests)
	case o.rate != "" && o.workload != "pooled":
		return o.maxInflight, fmt.Sprintf("--max-inflight %d", o.maxInflight)
	}
	return o.concurrency, fmt.Sprintf("--concurrency %d", o.concurrency)
}

// spreadSources gives a hold run toward a loopback target as many loopback
// source addresses as its connections need (one source address gives one
// connection per ephemeral port toward one destination), unless --source
// was given. It returns what it did, for the user, or "".
func (o *runOptions) spreadSources(target netip.AddrPort, ports int) string {
	if o.workload != "hold" || o.source != "" || ports <= 0 {
		return ""
	}
	if target.IsValid() && !(target.Addr().Is4() && target.Addr().IsLoopback()) {
		return ""
	}
	// Leave 5% of each range free: other programs use ports too.
	per := int64(ports) * 95 / 100
	n := (o.requests + per - 1) / per
	if n <= 1 {
		return ""
	}
	if n > 65000 {
		n = 65000
	}
	// 127.0.1.0 and up: any 127/8 address is local on lo.
	a := netip.AddrFrom4([4]byte{127, 0, 1, 1})
	o.sources = o.sources[:0]
	for i := int64(0); i < n; i++ {
		o.sources = append(o.sources, a)
		a = a.Next()
	}
	o.source = fmt.Sprintf("%s-%s", o.sources[0], o.sources[len(o.sources)-1])
	return fmt.Sprintf("-n %d needs more than the %d ports one source address has toward one destination: spreading over %d loopback sources (--source %s)",
		o.requests, ports, n, o.source)
}

// holdMeter follows a hold run's memory: the process's resident set and
// the kernel's TCP figures, at the start and at their peak.
type holdMeter struct {
	mu                         sync.Mutex
	rss0, rssPeak              int64
	slab0, slabPeak            int64 // -1: unreadable
	peakInUse, memAtPeak, use0 int64
}

func newHoldMeter() *holdMeter {
	m := &holdMeter{slab0: -1, slabPeak: -1}
	m.rss0, _ = kernel.ProcessRSS()
	m.rssPeak = m.rss0
	if _, b, err := kernel.ReadTCPSlab(""); err == nil {
		m.slab0, m.slabPeak = b, b
	}
	if s, err := kernel.ReadSockstat(""); err == nil {
		m.use0 = s.TCPInUse
	}
	return m
}

// sample takes one reading; called once per interval and at the end of the
// hold (before the connections are closed).
func (m *holdMeter) sample() {
	rss, _ := kernel.ProcessRSS()
	s, serr := kernel.ReadSockstat("")
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rssPeak = max(m.rssPeak, rss)
	if serr == nil && s.TCPInUse >= m.peakInUse {
		m.peakInUse = s.TCPInUse
		m.memAtPeak = s.TCPMemBytes()
		if m.slab0 >= 0 {
			if _, b, err := kernel.ReadTCPSlab(""); err == nil {
				m.slabPeak = max(m.slabPeak, b)
			}
		}
	}
}

// record makes the result's hold record.
func (m *holdMeter) record(h *workloads.HoldStats, sources int, listenerHere bool) *results.Hold {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &results.Hold{Asked: h.Asked, Opened: h.Opened, Held: h.Held, OpenNs: int64(h.OpenTime),
		RSSGrowthBytes: max(m.rssPeak-m.rss0, 0), ListenerInProcess: listenerHere,
		KernelSlabBytes: -1, KernelTCPMemBytes: m.memAtPeak, PeakTCPInUse: m.peakInUse, Sources: max(sources, 1)}
	if m.slab0 >= 0 {
		r.KernelSlabBytes = max(m.slabPeak-m.slab0, 0)
	}
	if h.Opened > 0 {
		r.UserBytesPerConn = float64(r.RSSGrowthBytes) / float64(h.Opened)
	}
	return r
}

// holdNotes explains a hold run's figures.
func holdNotes(r *results.Run, stderr io.Writer) []string {
	h := r.Hold
	if h == nil {
		return nil
	}
	var out []string
	if h.Held < h.Asked {
		var top string
		var n int64
		for k, v := range r.Failures {
			if v > n {
				top, n = k, v
			}
		}
		if top != "" {
			out = append(out, fmt.Sprintf("held %d of the %d connections asked for; the most common failure was %s (%d)%s", h.Held, h.Asked, top, n, limitHint(top)))
		}
	}
	out = append(out, "user memory per connection is the process's resident-set growth over the connections opened"+
		map[bool]string{true: ", with the built-in listener's end in the same process", false: ""}[h.ListenerInProcess]+
		"; kernel memory (socket slabs at both ends) is separate and not freed by closing the program's memory")
	return out
}

// limitHint names the limit behind a failure class.
func limitHint(class string) string {
	switch class {
	case "EMFILE":
		return ": the per-process open-file limit (RLIMIT_NOFILE); --procs N spreads the connections over N processes"
	case "ENFILE":
		return ": the system-wide file limit (fs.file-max)"
	case "EADDRNOTAVAIL":
		return ": no free ephemeral port toward the target; more --source addresses or a wider net.ipv4.ip_local_port_range"
	case "connect_timeout", "ETIMEDOUT":
		return ": SYNs went unanswered (the listener's accept queue or SYN backlog overflowed)"
	}
	return ""
}

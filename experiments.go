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

// handshakeModes counts handshakes by the SYN retransmission they waited
// for: under 0.5 s (none), then around each second (the retransmission
// timeouts are 1 s apart for the first ones on Linux >= 6.5, doubling on
// older kernels).
func handshakeModes(p results.Phase) string {
	rec, err := p.Recorder()
	if err != nil || rec.Count() == 0 {
		return ""
	}
	var bands [5]int64 // <0.5 s, ~1 s, ~2 s, ~3 s, later
	for _, b := range rec.Hist().Distribution() {
		if b.Count == 0 {
			continue
		}
		i := int((b.From + int64(500*time.Millisecond)) / int64(time.Second))
		bands[min(i, 4)] += b.Count
	}
	return fmt.Sprintf("%s handshakes took under 0.5 s, %s about 1 s, %s about 2 s, %s about 3 s and %s longer: each second is a SYN (or SYN-ACK) retransmission timeout",
		results.Count(bands[0]), results.Count(bands[1]), results.Count(bands[2]), results.Count(bands[3]), results.Count(bands[4]))
}

// experimentNotes explains what a backlog, synflood or --leak run shows.
func experimentNotes(r *results.Run, o *runOptions) []string {
	var out []string
	total := r.Counts.Transactions + r.FailuresTotal + r.Unfinished()
	switch o.workload {
	case "backlog":
		if h, ok := r.Phases["handshake"]; ok {
			if m := handshakeModes(h); m != "" {
				out = append(out, m)
			}
		}
		if total > 0 {
			out = append(out, fmt.Sprintf("%s of %s connections got through (%.1f%%); %s failed (timeouts: the client gave up, --connect-timeout %s, --timeout %s); %s were still waiting at the end",
				results.Count(r.Counts.Transactions), results.Count(total), 100*float64(r.Counts.Transactions)/float64(total),
				results.Count(r.FailuresTotal), o.connectTimeout, o.timeout, results.Count(r.Unfinished())))
		}
	case "synflood":
		if total > 0 {
			out = append(out, fmt.Sprintf("legitimate clients: %s of %s transactions started succeeded (%.1f%%; %s failed, %s still waiting at the end) while the flood ran",
				results.Count(r.Counts.Transactions), results.Count(total), 100*float64(r.Counts.Transactions)/float64(total),
				results.Count(r.FailuresTotal), results.Count(r.Unfinished())))
		}
		if l := r.Listener; l != nil && l.Counters != nil {
			if l.Counters["TcpExt.SyncookiesSent"] > 0 {
				out = append(out, "the listener's SYN queue overflowed and the kernel answered with SYN cookies (TcpExt.SyncookiesSent): no state is kept per SYN, so the spoofed ones cost nothing and legitimate ones still complete")
			} else if l.Counters["TcpExt.TCPReqQFullDrop"] > 0 {
				out = append(out, "the listener's SYN queue overflowed and, without SYN cookies, the kernel dropped SYNs (TcpExt.TCPReqQFullDrop), legitimate ones included: compare --vary sysctl:net.ipv4.tcp_syncookies=0,1")
			}
		}
	}
	if l := r.Listener; l != nil && l.Leaked > 0 {
		out = append(out, fmt.Sprintf("--leak: the listener never closed %s connections after the client closed them: they sit in CLOSE_WAIT (peak %s) and each holds a descriptor (peak %s) until the process runs out (EMFILE) — a server that misses read() returning 0 and never calls close()",
			results.Count(l.Leaked), results.Count(int64(l.PeakStates["close_wait"])), results.Count(l.PeakDescriptors)))
	}
	return out
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

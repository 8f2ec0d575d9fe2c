package explain

import (
	"fmt"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
)

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
		view.Count(bands[0]), view.Count(bands[1]), view.Count(bands[2]), view.Count(bands[3]), view.Count(bands[4]))
}

// experimentNotes explains what a backlog, synflood or --leak run shows.
func experimentNotes(r *results.Run, c Context) []string {
	var out []string
	total := r.Counts.Transactions + r.FailuresTotal + r.Unfinished()
	switch c.Config.Workload {
	case "backlog":
		if h, ok := r.Phases["handshake"]; ok {
			if m := handshakeModes(h); m != "" {
				out = append(out, m)
			}
		}
		if total > 0 {
			out = append(out, fmt.Sprintf("%s of %s connections got through (%.1f%%); %s failed (timeouts: the client gave up, --connect-timeout %s, --timeout %s); %s were still waiting at the end",
				view.Count(r.Counts.Transactions), view.Count(total), 100*float64(r.Counts.Transactions)/float64(total),
				view.Count(r.FailuresTotal), c.Config.Timeouts.Connect, c.Config.Timeouts.Response, view.Count(r.Unfinished())))
		}
	case "synflood":
		if total > 0 {
			out = append(out, fmt.Sprintf("legitimate clients: %s of %s transactions started succeeded (%.1f%%; %s failed, %s still waiting at the end) while the flood ran",
				view.Count(r.Counts.Transactions), view.Count(total), 100*float64(r.Counts.Transactions)/float64(total),
				view.Count(r.FailuresTotal), view.Count(r.Unfinished())))
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
			view.Count(l.Leaked), view.Count(int64(l.PeakStates["close_wait"])), view.Count(l.PeakDescriptors)))
	}
	return out
}

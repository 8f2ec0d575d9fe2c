package explain

import (
	"fmt"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
)

// tlsNotes interprets a --tls run: the TLS path it ran on, the handshake's
// round trips against the emulated path's RTT, resumption, the listener's
// CPU per handshake and the key exchange's bytes.
func tlsNotes(r *results.Run, c Context) []string {
	t := r.TLS
	if t == nil {
		return nil
	}
	var out []string
	n := r.Counts.Transactions
	path := fmt.Sprintf("ran on the TLS path: a goroutine per connection in flight (%d, locked to a thread only during its handshake, whose CPU it times) instead of the event loops, because crypto/tls needs a blocking connection; its own cost against the loops is measured by running plain TCP through it (--tls-plain, see README \"TLS\")", t.Workers)
	if r.Hold != nil {
		path = fmt.Sprintf("ran on the TLS path: a goroutine per handshake in flight (%d, --max-inflight; locked to a thread only during the handshake, whose CPU it times) instead of the event loops, because crypto/tls needs a blocking connection; a connection once open is held with no goroutine or thread of its own (with --ping, a few goroutines ping them all round robin)", t.Workers)
	}
	if n > 0 && r.CPU.ThreadNs > 0 {
		path += "; client CPU is the process's less the built-in listener's (Go's poller, scheduler and collector included), no thread clock being the client's alone"
	}
	out = append(out, path)
	if t.Plain || t.Handshakes == 0 {
		return out
	}
	if t.PredictedNs > 0 {
		if p, ok := r.Phases["tls_handshake"]; ok {
			s := fmt.Sprintf("TLS handshake p50 %s against %s predicted (%.3g round trip(s) of the path's RTT for what was negotiated: TLS 1.2 full 2, TLS 1.2 resumed and TLS 1.3 1); the rest, %s, is the handshake's computation on both sides and the path's own delay",
				view.Dur(p.P50Ns), view.Dur(t.PredictedNs), t.PredictedRoundTrips, view.Dur(max(p.P50Ns-t.PredictedNs, 0)))
			if t.Versions["1.2"] > t.Resumed && t.PredictedRoundTrips > 1 {
				s += fmt.Sprintf(". TLS 1.2 full handshakes cost a second round trip: %s at this RTT; TLS 1.3 or resumption removes it", view.Dur(int64(float64(t.PredictedNs)/t.PredictedRoundTrips)))
			}
			out = append(out, s)
		}
	}
	if t.Resume == "tickets" {
		if t.Resumed == 0 && c.Config.Workload == "connect" && t.Versions["1.3"] > 0 {
			out = append(out, "--tls-resume tickets, yet no handshake resumed: TLS 1.3 sends its session tickets after the handshake, and -w connect closes without reading them; resumption needs a workload that reads (per-request)")
		} else if t.Resumed == 0 {
			out = append(out, "--tls-resume tickets, yet no handshake resumed: the server issued no session tickets (the built-in listener's --tls-tickets off, or a server that does not resume)")
		} else {
			s := fmt.Sprintf("%.1f%% of the handshakes resumed a session (the first of each connection slot cannot)", 100*t.ResumedShare)
			if t.ClientCPUNsPerFullHandshake > 0 {
				s += fmt.Sprintf("; client CPU per handshake: full %.1f µs, resumed %.1f µs (%s)", t.ClientCPUNsPerFullHandshake/1e3, t.ClientCPUNsPerResumedHandshake/1e3, change(t.ClientCPUNsPerFullHandshake, t.ClientCPUNsPerResumedHandshake))
			}
			if l := r.Listener; l != nil && l.TLS != nil && l.TLS.CPUNsPerFullHandshake > 0 && l.TLS.CPUNsPerResumed > 0 {
				s += fmt.Sprintf("; listener: full %.1f µs, resumed %.1f µs (%s)", l.TLS.CPUNsPerFullHandshake/1e3, l.TLS.CPUNsPerResumed/1e3, change(l.TLS.CPUNsPerFullHandshake, l.TLS.CPUNsPerResumed))
			}
			if t.Versions["1.3"] > 0 {
				s += ". A resumed TLS 1.3 handshake skips the certificate but, in Go, still makes a fresh key exchange (psk_dhe_ke), and Go's client has no 0-RTT: it still takes one round trip before the request"
			}
			out = append(out, s)
		}
	}
	if l := r.Listener; l != nil && l.TLS != nil && l.TLS.Handshakes > 0 {
		cert := t.ServerCert
		if cert == "" {
			cert = "its certificate"
		}
		out = append(out, fmt.Sprintf("the listener (%s) spent %.1f µs of CPU per handshake: %s handshakes per second of one core, before any request is served",
			cert, l.TLS.CPUNsPerHandshake/1e3, view.Count(int64(l.TLS.HandshakesPerCPUSecond))))
	}
	for g := range t.GroupsNegotiated {
		if len(t.GroupsNegotiated) == 1 {
			s := fmt.Sprintf("key exchange %s: %.0f bytes out and %.0f in per handshake", g, t.BytesOutPerHandshake, t.BytesInPerHandshake)
			switch g {
			case "X25519MLKEM768":
				s += " (the hybrid post-quantum key shares are 1,216 bytes out and 1,120 back, against 32 each for X25519 alone)"
			case "SecP256r1MLKEM768":
				s += " (the hybrid post-quantum key shares are 1,249 bytes out and 1,153 back, against 65 each for P-256 alone)"
			}
			out = append(out, s)
		}
	}
	if c.Config.Workload == "pooled" && n > 0 {
		out = append(out, fmt.Sprintf("pooled: %s TLS handshakes for %s transactions: the handshake is paid once per connection (compare --vary workload=pooled,per-request --tls)", view.Count(t.Handshakes), view.Count(n)))
	}
	return out
}

// change is the relative change from a to b, e.g. "−62%".
func change(a, b float64) string {
	if a <= 0 {
		return "—"
	}
	d := 100 * (b - a) / a
	if d < 0 {
		return fmt.Sprintf("−%.0f%%", -d)
	}
	return fmt.Sprintf("+%.0f%%", d)
}

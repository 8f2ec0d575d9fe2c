package view

import (
	"fmt"
	"sort"
	"strings"

	"github.com/connbench/connbench/results"
)

// tlsRows adds the TLS rows of the table (runs with a TLS record).
func tlsRows(view *results.Document, row func(string, ...string), cells func(func(*results.Run) string) []string) {
	if !anyRun(view, func(r *results.Run) bool { return r.TLS != nil && !r.TLS.Plain }) {
		return
	}
	dash := func(f func(t *results.TLS, r *results.Run) string) func(*results.Run) string {
		return func(r *results.Run) string {
			if r.TLS == nil || r.TLS.Plain || r.TLS.Handshakes == 0 {
				return "—"
			}
			return f(r.TLS, r)
		}
	}
	row("TLS handshakes", cells(dash(func(t *results.TLS, _ *results.Run) string { return Count(t.Handshakes) }))...)
	row("TLS negotiated", cells(dash(func(t *results.TLS, _ *results.Run) string {
		return strings.Join([]string{top(t.Versions), top(t.GroupsNegotiated), top(t.CipherSuites)}, " ")
	}))...)
	row("TLS resumed", cells(dash(func(t *results.TLS, _ *results.Run) string {
		return fmt.Sprintf("%.1f%%", 100*t.ResumedShare)
	}))...)
	if anyRun(view, func(r *results.Run) bool { return r.TLS != nil && r.TLS.PredictedNs > 0 }) {
		row("TLS handshake predicted", cells(dash(func(t *results.TLS, _ *results.Run) string {
			if t.PredictedNs == 0 {
				return "—"
			}
			return fmt.Sprintf("%.3g RTT = %s", t.PredictedRoundTrips, Dur(t.PredictedNs))
		}))...)
		row("TLS handshake p50 − predicted", cells(dash(func(t *results.TLS, r *results.Run) string {
			p, ok := r.Phases["tls_handshake"]
			if t.PredictedNs == 0 || !ok {
				return "—"
			}
			d := p.P50Ns - t.PredictedNs
			if d < 0 {
				return "−" + Dur(-d)
			}
			return "+" + Dur(d)
		}))...)
	}
	row("TLS bytes/handshake out+in", cells(dash(func(t *results.TLS, _ *results.Run) string {
		return fmt.Sprintf("%.0f+%.0f", t.BytesOutPerHandshake, t.BytesInPerHandshake)
	}))...)
	row("client CPU µs/TLS handshake", cells(dash(func(t *results.TLS, _ *results.Run) string {
		return fmt.Sprintf("%.1f", t.ClientCPUNsPerHandshake/1e3) + fullResumed(t.ClientCPUNsPerFullHandshake, t.ClientCPUNsPerResumedHandshake, t.Resumed)
	}))...)
	if anyRun(view, func(r *results.Run) bool { return r.Listener != nil && r.Listener.TLS != nil }) {
		ltls := func(f func(l *results.ListenerTLS) string) func(*results.Run) string {
			return func(r *results.Run) string {
				if r.Listener == nil || r.Listener.TLS == nil || r.Listener.TLS.Handshakes == 0 {
					return "—"
				}
				return f(r.Listener.TLS)
			}
		}
		row("listener CPU µs/TLS handshake", cells(ltls(func(l *results.ListenerTLS) string {
			return fmt.Sprintf("%.1f", l.CPUNsPerHandshake/1e3) + fullResumed(l.CPUNsPerFullHandshake, l.CPUNsPerResumed, l.Resumed)
		}))...)
		row("listener TLS handshakes/CPU-s", cells(ltls(func(l *results.ListenerTLS) string {
			return Count(int64(l.HandshakesPerCPUSecond))
		}))...)
	}
}

// fullResumed is " (full F / resumed R)" when some handshakes resumed.
func fullResumed(full, resumed float64, n int64) string {
	if n == 0 {
		return ""
	}
	f := "—"
	if full > 0 {
		f = fmt.Sprintf("%.1f", full/1e3)
	}
	return fmt.Sprintf(" (full %s / resumed %.1f)", f, resumed/1e3)
}

// top is the most frequent key of m ("" for none), with "+" when there
// were others.
func top(m map[string]int64) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > 1 {
		return keys[0] + "+"
	}
	return keys[0]
}

// tlsVerdicts compares each variant's TLS handshakes with the baseline's:
// the handshake's p50, and the CPU per handshake on both sides (what a
// resumption, a certificate or a key exchange changes). "" when the
// baseline has no TLS handshakes.
func tlsVerdicts(view *results.Document) string {
	if len(view.Runs) < 2 {
		return ""
	}
	base := &view.Runs[0]
	if base.TLS == nil || base.TLS.Handshakes == 0 {
		return ""
	}
	var b strings.Builder
	for i := 1; i < len(view.Runs); i++ {
		r := &view.Runs[i]
		if r.TLS == nil || r.TLS.Handshakes == 0 {
			continue
		}
		var parts []string
		bp, ok1 := base.Phases["tls_handshake"]
		rp, ok2 := r.Phases["tls_handshake"]
		if ok1 && ok2 {
			parts = append(parts, fmt.Sprintf("TLS handshake p50 %s vs %s", Dur(rp.P50Ns), Dur(bp.P50Ns)))
		}
		parts = append(parts, fmt.Sprintf("client CPU per TLS handshake %.1f vs %.1f µs (%s)",
			r.TLS.ClientCPUNsPerHandshake/1e3, base.TLS.ClientCPUNsPerHandshake/1e3, tlsChange(base.TLS.ClientCPUNsPerHandshake, r.TLS.ClientCPUNsPerHandshake)))
		if bl, rl := base.Listener, r.Listener; bl != nil && rl != nil && bl.TLS != nil && rl.TLS != nil && bl.TLS.Handshakes > 0 && rl.TLS.Handshakes > 0 {
			parts = append(parts, fmt.Sprintf("listener %.1f vs %.1f µs (%s)",
				rl.TLS.CPUNsPerHandshake/1e3, bl.TLS.CPUNsPerHandshake/1e3, tlsChange(bl.TLS.CPUNsPerHandshake, rl.TLS.CPUNsPerHandshake)))
		}
		if d := r.TLS.BytesOutPerHandshake + r.TLS.BytesInPerHandshake - base.TLS.BytesOutPerHandshake - base.TLS.BytesInPerHandshake; d >= 100 || d <= -100 {
			parts = append(parts, fmt.Sprintf("%+.0f bytes per handshake", d))
		}
		fmt.Fprintf(&b, "\n%s vs %s (TLS): %s", r.Label, base.Label, strings.Join(parts, ", "))
	}
	if b.Len() == 0 {
		return ""
	}
	return b.String() + "\n"
}

// tlsChange is the change from a to b in percent, e.g. "−22%".
func tlsChange(a, b float64) string {
	if a <= 0 {
		return "—"
	}
	d := 100 * (b - a) / a
	if d < 0 {
		return fmt.Sprintf("−%.0f%%", -d)
	}
	return fmt.Sprintf("+%.0f%%", d)
}

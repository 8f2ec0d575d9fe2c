package view

import (
	"strings"
	"testing"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

func TestTLSRowsAndVerdicts(t *testing.T) {
	run := func(label string, hs, resumed int64, cpu, lcpu float64, p50 int64) results.Run {
		return results.Run{Label: label, Counts: results.Counts{Transactions: hs, Connections: hs},
			Phases: map[string]results.Phase{"tls_handshake": {Summary: histogram.Summary{Count: hs, P50Ns: p50}}},
			TLS: &results.TLS{Handshakes: hs, Resumed: resumed, ResumedShare: float64(resumed) / float64(hs), ClientCPUNsPerHandshake: cpu,
				Versions: map[string]int64{"1.3": hs}, PredictedRoundTrips: 1, PredictedNs: 20e6, BytesOutPerHandshake: 1500, BytesInPerHandshake: 1900},
			Listener: &results.Listener{TLS: &results.ListenerTLS{Handshakes: hs, CPUNsPerHandshake: lcpu, HandshakesPerCPUSecond: 1e9 / lcpu}}}
	}
	doc := &results.Document{Runs: []results.Run{run("tls-resume=off", 1000, 0, 400e3, 300e3, 22e6), run("tls-resume=tickets", 1000, 990, 300e3, 240e3, 21e6)}}
	var b strings.Builder
	if err := WriteTable(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"TLS resumed", "99.0%", "1 RTT = 20.0 ms", "+2.00 ms", "client CPU µs/TLS handshake", "listener TLS handshakes/CPU-s",
		"tls-resume=tickets vs tls-resume=off (TLS): TLS handshake p50 21.0 ms vs 22.0 ms, client CPU per TLS handshake 300.0 vs 400.0 µs (−25%), listener 240.0 vs 300.0 µs (−20%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

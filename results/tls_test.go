package results

import "testing"

func TestTLSAdd(t *testing.T) {
	a := &TLS{Handshakes: 100, Resumed: 90, ClientCPUNs: 100 * 300e3, ClientCPUNsPerFullHandshake: 600e3, ClientCPUNsPerResumedHandshake: 266.67e3,
		BytesOutPerHandshake: 1500, Versions: map[string]int64{"1.3": 100}, PredictedRoundTrips: 1, PredictedNs: 20e6}
	b := &TLS{Handshakes: 300, Resumed: 0, ClientCPUNs: 300 * 500e3, ClientCPUNsPerFullHandshake: 500e3,
		BytesOutPerHandshake: 300, Versions: map[string]int64{"1.2": 300}, PredictedRoundTrips: 2, PredictedNs: 40e6}
	m := mergeTLS([]part{{run: &Run{TLS: a}}, {run: &Run{TLS: b}}})
	if m.Handshakes != 400 || m.Resumed != 90 || m.ResumedShare != 90.0/400 || m.Versions["1.3"] != 100 || m.Versions["1.2"] != 300 {
		t.Fatalf("merged %+v", m)
	}
	if m.ClientCPUNsPerHandshake != (100*300e3+300*500e3)/400 || m.BytesOutPerHandshake != (1500*100+300*300)/400.0 || m.PredictedRoundTrips != 1.75 || m.PredictedNs != 35e6 {
		t.Errorf("merged means %+v", m)
	}
	if m.ClientCPUNsPerFullHandshake != (600e3*10+500e3*300)/310 {
		t.Errorf("full CPU %v", m.ClientCPUNsPerFullHandshake)
	}
	if a.Versions["1.2"] != 0 {
		t.Error("merging changed its first part")
	}
	if mergeTLS([]part{{run: &Run{TLS: a}}, {run: &Run{}}}) != nil {
		t.Error("a part without TLS: merged anyway")
	}
	l := &Listener{TLS: &ListenerTLS{Handshakes: 10, CPUNs: 1e6}}
	l.Add(&Listener{TLS: &ListenerTLS{Handshakes: 30, CPUNs: 5e6}})
	if l.TLS.Handshakes != 40 || l.TLS.CPUNsPerHandshake != 150e3 || l.TLS.HandshakesPerCPUSecond != 40/0.006 {
		t.Errorf("listener %+v", l.TLS)
	}
}

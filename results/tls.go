package results

// TLS is a run's record of its TLS handshakes (client side, measured part),
// and the TLS round trips predicted from the emulated path's RTT.
type TLS struct {
	// Version, Resume, Groups, Ciphers, SNI and ALPN echo what the client
	// asked for ("" and empty: Go's defaults).
	Version string   `json:"version,omitempty"`
	Resume  string   `json:"resume,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Ciphers []string `json:"ciphers,omitempty"`
	SNI     string   `json:"sni,omitempty"`
	ALPN    []string `json:"alpn,omitempty"`
	// ServerCert is the built-in listener's certificate kind (or "file"),
	// and ServerTickets whether it issued session tickets; "" against an
	// external server.
	ServerCert    string `json:"server_cert,omitempty"`
	ServerTickets *bool  `json:"server_tickets,omitempty"`
	// Plain: the run went through the TLS path with TLS off, to measure the
	// path's own overhead.
	Plain bool `json:"plain,omitempty"`
	// Handshakes completed and Resumed (session tickets); ResumedShare is
	// Resumed/Handshakes (0 without handshakes).
	Handshakes   int64   `json:"handshakes"`
	Resumed      int64   `json:"resumed"`
	ResumedShare float64 `json:"resumed_share"`
	// ClientCPUNs is the client threads' CPU inside the handshakes
	// (CLOCK_THREAD_CPUTIME_ID around Handshake, ClientHello key
	// generation included), and ClientCPUNsPerHandshake per handshake;
	// the Full and Resumed variants split it by resumption (0: none).
	ClientCPUNs                    int64   `json:"client_cpu_ns"`
	ClientCPUNsPerHandshake        float64 `json:"client_cpu_ns_per_handshake"`
	ClientCPUNsPerFullHandshake    float64 `json:"client_cpu_ns_per_full_handshake,omitempty"`
	ClientCPUNsPerResumedHandshake float64 `json:"client_cpu_ns_per_resumed_handshake,omitempty"`
	// BytesOutPerHandshake and BytesInPerHandshake are the handshake's
	// bytes on the wire (TLS records), client to server and back.
	BytesOutPerHandshake float64 `json:"bytes_out_per_handshake"`
	BytesInPerHandshake  float64 `json:"bytes_in_per_handshake"`
	// Versions, Ciphers, Groups and ALPN count handshakes by what was
	// negotiated (ALPN omitted when none was).
	Versions         map[string]int64 `json:"versions,omitempty"`
	CipherSuites     map[string]int64 `json:"cipher_suites,omitempty"`
	GroupsNegotiated map[string]int64 `json:"groups_negotiated,omitempty"`
	ALPNNegotiated   map[string]int64 `json:"alpn_negotiated,omitempty"`
	// Workers is the number of goroutines (each on a thread of its own)
	// the TLS path ran: -c, or --max-inflight for an open loop.
	Workers int `json:"workers"`
	// PredictedRoundTrips is the handshake's round trips before the
	// request for what was negotiated (TLS 1.2 full: 2; 1.2 resumed and
	// 1.3: 1), and PredictedNs that many times the emulated path's RTT;
	// both 0 without an emulated path.
	PredictedRoundTrips float64 `json:"predicted_round_trips,omitempty"`
	PredictedNs         int64   `json:"predicted_ns,omitempty"`
}

// ListenerTLS is the built-in listener's side of the TLS handshakes over
// the measured part.
type ListenerTLS struct {
	Handshakes int64 `json:"handshakes"`
	Resumed    int64 `json:"resumed"`
	Failed     int64 `json:"failed"`
	// CPUNs is the serving threads' CPU inside the handshakes
	// (CLOCK_THREAD_CPUTIME_ID around crypto/tls's server Handshake);
	// CPUNsPerHandshake per handshake; HandshakesPerCPUSecond its inverse:
	// the handshakes one core could do.
	CPUNs                  int64   `json:"cpu_ns"`
	CPUNsPerHandshake      float64 `json:"cpu_ns_per_handshake"`
	CPUNsPerFullHandshake  float64 `json:"cpu_ns_per_full_handshake,omitempty"`
	CPUNsPerResumed        float64 `json:"cpu_ns_per_resumed_handshake,omitempty"`
	HandshakesPerCPUSecond float64 `json:"handshakes_per_cpu_second"`
}

// Add adds another generator's TLS record o to t (merging): the counts,
// CPU, bytes and negotiated tallies add up, the per-handshake figures and
// the prediction are recomputed as weighted means; what was asked is t's.
func (t *TLS) Add(o *TLS) {
	n, m := float64(t.Handshakes), float64(o.Handshakes)
	full, ofull := float64(t.Handshakes-t.Resumed), float64(o.Handshakes-o.Resumed)
	res, ores := float64(t.Resumed), float64(o.Resumed)
	wmean := func(a, wa, b, wb float64) float64 {
		if wa+wb == 0 {
			return 0
		}
		return (a*wa + b*wb) / (wa + wb)
	}
	t.BytesOutPerHandshake = wmean(t.BytesOutPerHandshake, n, o.BytesOutPerHandshake, m)
	t.BytesInPerHandshake = wmean(t.BytesInPerHandshake, n, o.BytesInPerHandshake, m)
	t.ClientCPUNsPerFullHandshake = wmean(t.ClientCPUNsPerFullHandshake, full, o.ClientCPUNsPerFullHandshake, ofull)
	t.ClientCPUNsPerResumedHandshake = wmean(t.ClientCPUNsPerResumedHandshake, res, o.ClientCPUNsPerResumedHandshake, ores)
	t.PredictedRoundTrips = wmean(t.PredictedRoundTrips, n, o.PredictedRoundTrips, m)
	t.PredictedNs = int64(wmean(float64(t.PredictedNs), n, float64(o.PredictedNs), m))
	t.Handshakes += o.Handshakes
	t.Resumed += o.Resumed
	t.ClientCPUNs += o.ClientCPUNs
	t.Workers += o.Workers
	t.ResumedShare, t.ClientCPUNsPerHandshake = 0, 0
	if t.Handshakes > 0 {
		t.ResumedShare = float64(t.Resumed) / float64(t.Handshakes)
		t.ClientCPUNsPerHandshake = float64(t.ClientCPUNs) / float64(t.Handshakes)
	}
	t.Versions = addTallies(t.Versions, o.Versions)
	t.CipherSuites = addTallies(t.CipherSuites, o.CipherSuites)
	t.GroupsNegotiated = addTallies(t.GroupsNegotiated, o.GroupsNegotiated)
	t.ALPNNegotiated = addTallies(t.ALPNNegotiated, o.ALPNNegotiated)
}

// Add adds another listener's TLS record o to l (merging).
func (l *ListenerTLS) Add(o *ListenerTLS) {
	full, ofull := float64(l.Handshakes-l.Resumed), float64(o.Handshakes-o.Resumed)
	wmean := func(a, wa, b, wb float64) float64 {
		if wa+wb == 0 {
			return 0
		}
		return (a*wa + b*wb) / (wa + wb)
	}
	l.CPUNsPerFullHandshake = wmean(l.CPUNsPerFullHandshake, full, o.CPUNsPerFullHandshake, ofull)
	l.CPUNsPerResumed = wmean(l.CPUNsPerResumed, float64(l.Resumed), o.CPUNsPerResumed, float64(o.Resumed))
	l.Handshakes += o.Handshakes
	l.Resumed += o.Resumed
	l.Failed += o.Failed
	l.CPUNs += o.CPUNs
	l.CPUNsPerHandshake, l.HandshakesPerCPUSecond = 0, 0
	if l.Handshakes > 0 {
		l.CPUNsPerHandshake = float64(l.CPUNs) / float64(l.Handshakes)
	}
	if l.CPUNs > 0 {
		l.HandshakesPerCPUSecond = float64(l.Handshakes) / (float64(l.CPUNs) / 1e9)
	}
}

func addTallies(a, b map[string]int64) map[string]int64 {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]int64{}
	}
	for k, v := range b {
		a[k] += v
	}
	return a
}

// mergeTLS adds up the parts' TLS records when every part has one.
func mergeTLS(parts []part) *TLS {
	var out *TLS
	for _, p := range parts {
		t := p.run.TLS
		if t == nil {
			return nil
		}
		if out == nil {
			c := *t
			c.Versions, c.CipherSuites, c.GroupsNegotiated, c.ALPNNegotiated = addTallies(nil, t.Versions),
				addTallies(nil, t.CipherSuites), addTallies(nil, t.GroupsNegotiated), addTallies(nil, t.ALPNNegotiated)
			out = &c
			continue
		}
		out.Add(t)
	}
	return out
}

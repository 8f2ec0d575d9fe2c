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

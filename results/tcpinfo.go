package results

// TCPInfo is what the measured connections' TCP_INFO showed (read after
// the handshake, and after the first response byte with Fast Open).
type TCPInfo struct {
	// Handshakes inspected, and those whose SYN was retransmitted at
	// least once; RTOs sums their retransmission timeouts (Linux >= 6.7,
	// HasRTO false before).
	Handshakes    int64 `json:"handshakes"`
	Retransmitted int64 `json:"handshakes_retransmitted"`
	RTOs          int64 `json:"rtos"`
	HasRTO        bool  `json:"has_rto"`
	// FastOpen counts connections opened with Fast Open that got a
	// response; SYNData those whose SYN carried the request and had it
	// acknowledged (TCPI_OPT_SYN_DATA).
	FastOpen int64 `json:"fastopen"`
	SYNData  int64 `json:"syn_data"`
}

// SYNDataShare is SYNData / FastOpen, or -1 without Fast Open connections.
func (t *TCPInfo) SYNDataShare() float64 {
	if t == nil || t.FastOpen == 0 {
		return -1
	}
	return float64(t.SYNData) / float64(t.FastOpen)
}

// mergeTCPInfo sums the parts' TCP_INFO counts; nil when none has them.
func mergeTCPInfo(parts []part) *TCPInfo {
	var out *TCPInfo
	for _, p := range parts {
		t := p.run.TCPInfo
		if t == nil {
			continue
		}
		if out == nil {
			out = &TCPInfo{}
		}
		out.Add(t)
	}
	return out
}

package results

import (
	"strconv"
	"time"
)

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

// Path describes the emulated network path a run crossed (--rtt, --loss,
// --drop-syn, ...).
type Path struct {
	// Mechanism is how the path was emulated: "tun-forwarder" (connbench
	// forwards between two namespaces itself) or "netem".
	Mechanism string `json:"mechanism"`
	// NetemAvailable records whether the kernel had sch_netem.
	NetemAvailable bool    `json:"netem_available"`
	RTTNs          int64   `json:"rtt_ns"`
	JitterNs       int64   `json:"jitter_ns"`
	Loss           float64 `json:"loss"`
	DropSYN        int     `json:"drop_syn"`
	DropSYNShare   float64 `json:"drop_syn_share"`
	RateBps        int64   `json:"rate_bps"`
	// Packets forwarded each way, and drops by cause (asked for: loss,
	// syn; not asked for: queue, kernel, errors).
	PacketsToServer int64 `json:"packets_to_server"`
	PacketsToClient int64 `json:"packets_to_client"`
	DroppedLoss     int64 `json:"dropped_loss"`
	DroppedSYN      int64 `json:"dropped_syn"`
	DroppedQueue    int64 `json:"dropped_queue"`
	KernelDropped   int64 `json:"kernel_dropped"`
	Errors          int64 `json:"errors"`
	// AddedDelay is the forwarder's own lateness per packet beyond the
	// delay asked for: the floor under every emulated figure.
	AddedDelay *Phase `json:"added_delay,omitempty"`
	// ForwarderCPUNs is the forwarder threads' CPU time.
	ForwarderCPUNs int64 `json:"forwarder_cpu_ns"`
}

// Describe says in a few words what the path does: "tun-forwarder rtt
// 50ms jitter 5ms loss 1% drop-syn 1".
func (p *Path) Describe() string {
	s := p.Mechanism
	if p.RTTNs > 0 {
		s += " rtt " + time.Duration(p.RTTNs).String()
	}
	if p.JitterNs > 0 {
		s += " jitter " + time.Duration(p.JitterNs).String()
	}
	if p.Loss > 0 {
		s += " loss " + strconv.FormatFloat(100*p.Loss, 'g', 4, 64) + "%"
	}
	if p.DropSYN > 0 {
		s += " drop-syn " + strconv.Itoa(p.DropSYN)
	}
	if p.DropSYNShare > 0 {
		s += " drop-syn " + strconv.FormatFloat(100*p.DropSYNShare, 'g', 4, 64) + "%"
	}
	if p.RateBps > 0 {
		s += " rate " + strconv.FormatInt(p.RateBps, 10) + "bit/s"
	}
	return s
}

// Unrequested is the number of packets the path lost without being asked.
func (p *Path) Unrequested() int64 {
	return p.DroppedQueue + p.KernelDropped + p.Errors
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
		out.Handshakes += t.Handshakes
		out.Retransmitted += t.Retransmitted
		out.RTOs += t.RTOs
		out.HasRTO = out.HasRTO || t.HasRTO
		out.FastOpen += t.FastOpen
		out.SYNData += t.SYNData
	}
	return out
}

// mergeStatuses sums the parts' answer counts; nil when none has them.
func mergeStatuses(parts []part) map[string]int64 {
	var out map[string]int64
	for _, p := range parts {
		for k, v := range p.run.Statuses {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] += v
		}
	}
	return out
}

// mergeFlood sums the parts' spoofed SYNs; nil when none flooded.
func mergeFlood(parts []part) *Flood {
	var out *Flood
	for _, p := range parts {
		f := p.run.Flood
		if f == nil {
			continue
		}
		if out == nil {
			out = &Flood{Sources: f.Sources, FirstError: f.FirstError}
		}
		out.RatePerSec += f.RatePerSec
		out.Sent += f.Sent
		out.Errors += f.Errors
	}
	return out
}

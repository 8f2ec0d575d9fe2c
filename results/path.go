package results

import (
	"strconv"
	"time"
)

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

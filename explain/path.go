package explain

import (
	"fmt"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/workloads"
)

// pathNotes explains what differs over the emulated path from loopback.
func pathNotes(r *results.Run, c Context) []string {
	if r.Path == nil {
		return nil
	}
	var out []string
	if c.Config.Socket.Close == dialer.CloseFIN && c.Sysctls["net.ipv4.tcp_tw_reuse"] == "2" && !workloads.Registry[c.Config.Workload].Persistent && portsFilling(r) {
		out = append(out, "over the emulated path the addresses (198.18.0.x) are not loopback, so tcp_tw_reuse=2 (loopback only) does not let connect() reuse TIME_WAIT ports: as on a real network, each closed connection holds its port 60 s and connect() slows sharply once half the range is taken; --close rst or compare --vary sysctl:net.ipv4.tcp_tw_reuse=1 avoid it")
	}
	out = append(out, "the path's own cost is in every figure: the forwarder's lateness per packet is \"path added delay\"; the wake-up of its thread is not in it (at --rtt 0 that is the whole cost: compare a run without --rtt)")
	return out
}

// fastOpenNotes explains a Fast Open run's figures, and warns when the
// data did not ride the SYN as asked.
func fastOpenNotes(r *results.Run, mode dialer.FastOpenMode) []string {
	if mode == dialer.FastOpenOff || r.TCPInfo == nil || r.TCPInfo.FastOpen == 0 {
		return nil
	}
	t := r.TCPInfo
	out := []string{"with Fast Open, connect() can return before the handshake and the request rides the SYN: \"connect→first byte\" (from the connect or sendto call to the first response byte) is the figure to compare, split into cold (no cookie yet: a full handshake first) and warm (request in the SYN)"}
	if mode == dialer.FastOpenConnect {
		out = append(out, "--fastopen=connect: connect() returned at once for connections with a cookie, so their handshake was not timed; the handshake row shows the cold ones only")
	}
	if share := t.SYNDataShare(); share < 0.99 {
		why := "the first connection to a server only fetches the cookie"
		if t.SYNData == 0 {
			why = "no SYN carried data: the server's net.ipv4.tcp_fastopen lacks bit 0x2 or its listener has no TCP_FASTOPEN queue, a middlebox strips the option, or the kernel's blackhole detection disabled Fast Open (TcpExt.TCPFastOpenBlackhole)"
		}
		out = append(out, fmt.Sprintf("warning: Fast Open was asked for, but only %s of %s connections (%.1f%%) had their request in the SYN: %s",
			view.Count(t.SYNData), view.Count(t.FastOpen), 100*share, why))
	}
	return out
}

// portsFilling reports whether the run shows its ephemeral ports running
// short: EADDRNOTAVAIL, connect() searching the range, or 40% or more of
// the range in use at the peak.
func portsFilling(r *results.Run) bool {
	if r.Failures[dialer.FailAddrNotAvail] > 0 || portSearch(r) != "" {
		return true
	}
	k := r.Kernel
	return k != nil && k.PortRangeSize > 0 && float64(k.PeakPortsInUse) >= 0.4*float64(k.PortRangeSize*max(k.Sources, 1))
}

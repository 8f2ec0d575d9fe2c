package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
)

// pathRun runs connbench over the emulated path and returns its one run.
// It needs root (namespaces, TUN devices).
func pathRun(t *testing.T, args ...string) results.Run {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the emulated path needs root (network namespaces and TUN devices)")
	}
	out := filepath.Join(t.TempDir(), "r.json")
	args = append([]string{"run", "-o", out, "--quiet"}, args...)
	code, stdout, stderr := connbench(t, args...)
	if code != exitOK {
		t.Fatalf("connbench %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), code, stderr, stdout)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(doc.Runs))
	}
	r := doc.Runs[0]
	if r.Path == nil {
		t.Fatal("the result does not record the path")
	}
	if r.Path.Mechanism == "" {
		t.Error("the path's mechanism is not recorded")
	}
	if u := r.Path.Unrequested(); u != 0 {
		t.Errorf("the path dropped %d packets nobody asked it to drop", u)
	}
	return r
}

// between reports whether lo×unit ≤ got < hi×unit.
func between(got, unit int64, lo, hi float64) bool {
	return float64(got) >= lo*float64(unit) && float64(got) < hi*float64(unit)
}

// At --rtt 50ms a handshake takes one round trip, and a new connection's
// first response byte comes two round trips after the connect() call.
// The bounds are about the mechanism, not the timing (that belongs in
// benchmarks): the delay is added on the path, so nothing can come sooner
// than its round trips (5% below for the histogram's rounding), and a
// loaded machine adds time but not a whole extra round trip at the median.
func TestPathRTT(t *testing.T) {
	r := pathRun(t, "--rtt", "50ms", "-n", "60", "-c", "6")
	rtt := int64(50 * time.Millisecond)
	if r.FailuresTotal != 0 || r.Counts.Transactions != 60 {
		t.Fatalf("%d transactions, failures %v; want 60 and none", r.Counts.Transactions, r.Failures)
	}
	hs, fb := r.Phases["handshake"].P50Ns, r.Phases["connect_first_byte"].P50Ns
	if !between(hs, rtt, 0.95, 1.9) {
		t.Errorf("handshake p50 %v, want one round trip: at least 50ms and clearly under 2 RTT", time.Duration(hs))
	}
	if !between(fb, rtt, 1.9, 2.9) {
		t.Errorf("connect→first byte p50 %v, want two round trips: at least 100ms and clearly under 3 RTT", time.Duration(fb))
	}
	if fb-hs < int64(0.9*float64(rtt)) {
		t.Errorf("connect→first byte p50 %v is not a round trip after the handshake's %v", time.Duration(fb), time.Duration(hs))
	}
	if r.Path.RTTNs != rtt || r.Path.AddedDelay == nil || r.Path.AddedDelay.Count == 0 {
		t.Errorf("path record %+v: want rtt 50ms and the forwarder's added delay", r.Path)
	}
	if r.TCPInfo == nil || r.TCPInfo.Handshakes != 60 || r.TCPInfo.Retransmitted != 0 {
		t.Errorf("TCP_INFO %+v: want 60 handshakes, none retransmitted", r.TCPInfo)
	}
}

// With warm Fast Open (cookies fetched in the warm-up) the request rides
// the SYN: the first byte comes one round trip after the sendto() call,
// where without Fast Open it cannot come before two (TestPathRTT).
func TestPathFastOpen(t *testing.T) {
	for _, mode := range []string{"sendto", "connect"} {
		t.Run(mode, func(t *testing.T) {
			r := pathRun(t, "--rtt", "50ms", "--fastopen="+mode, "--warmup", "300ms", "-n", "60", "-c", "6")
			rtt := int64(50 * time.Millisecond)
			ti := r.TCPInfo
			if ti == nil || ti.FastOpen != 60 {
				t.Fatalf("TCP_INFO %+v: want 60 Fast Open connections inspected", ti)
			}
			if share := ti.SYNDataShare(); share < 0.99 {
				t.Errorf("%d of %d SYNs carried the request (%.1f%%), want ≥ 99%%", ti.SYNData, ti.FastOpen, 100*share)
			}
			if p := r.Phases["connect_first_byte_warm"].P50Ns; !between(p, rtt, 0.95, 1.9) {
				t.Errorf("warm connect→first byte p50 %v, want one round trip: at least 50ms and clearly under the 2 RTT of a connection without Fast Open", time.Duration(p))
			}
			if r.Kernel != nil && r.Kernel.Counters["TcpExt.TCPFastOpenActive"] < 60 {
				t.Errorf("TcpExt.TCPFastOpenActive went up by %d, want ≥ 60", r.Kernel.Counters["TcpExt.TCPFastOpenActive"])
			}
		})
	}
}

// A dropped SYN costs the kernel's initial retransmission timeout (1 s);
// two cost 1 s + 1 s on Linux ≥ 6.5 (tcp_syn_linear_timeouts keeps the
// first timeouts linear), 1 s + 2 s before.
func TestPathDropSYN(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(strings.Repeat("drop", n), func(t *testing.T) {
			r := pathRun(t, "--rtt", "20ms", "--drop-syn", string(rune('0'+n)), "-n", "8", "-c", "8", "--connect-timeout", "10s")
			want := time.Second
			if n == 2 {
				want += 2 * time.Second
				if v, err := kernel.ReadSysctl("", "net.ipv4.tcp_syn_linear_timeouts"); err == nil && v != "0" {
					want = 2 * time.Second
				}
			}
			want += 20 * time.Millisecond
			// At least the timeouts and the round trip, and clearly less
			// than one more second (the next step of the arithmetic).
			if p := time.Duration(r.Phases["handshake"].P50Ns); p < want*95/100 || p >= want+500*time.Millisecond {
				t.Errorf("handshake p50 %v, want %v to %v", p, want, want+500*time.Millisecond)
			}
			ti := r.TCPInfo
			if ti == nil || ti.Handshakes != 8 || ti.Retransmitted != 8 {
				t.Errorf("TCP_INFO %+v: want all 8 handshakes retransmitted", ti)
			}
			if r.Path.DroppedSYN != int64(8*n) {
				t.Errorf("the path dropped %d SYNs, want %d", r.Path.DroppedSYN, 8*n)
			}
		})
	}
}

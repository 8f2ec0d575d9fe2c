package explain

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:9000")

// hostSysctls are the sysctls of a stock Linux 6.x host.
var hostSysctls = map[string]string{
	"net.ipv4.ip_local_port_range": "32768 60999",
	"net.ipv4.tcp_tw_reuse":        "2",
	"net.ipv4.tcp_tw_reuse_delay":  "1000",
}

// TestNotes: each fixture result gives the notes that explain it, and no
// note that the evidence does not support.
func TestNotes(t *testing.T) {
	perRequest := workloads.Config{Workload: "per-request", Target: loopback, Socket: dialer.Options{Close: dialer.CloseFIN}}
	rst := perRequest
	rst.Socket.Close = dialer.CloseRST
	churn := workloads.Config{Workload: "churn", Target: loopback, Rate: 2000, Socket: dialer.Options{Close: dialer.CloseFIN}}
	backlog := workloads.Config{Workload: "backlog", Target: loopback, Timeouts: dialer.Timeouts{Connect: 5 * time.Second, Response: 5 * time.Second}}
	perRequest4 := perRequest
	perRequest4.Loops = 4
	perRequest1 := perRequest
	perRequest1.Loops = 1
	churnInflight := churn
	churnInflight.MaxInflight = 64
	fastopen := perRequest
	fastopen.Socket.FastOpen = dialer.FastOpenSendto
	for _, tc := range []struct {
		name    string
		run     results.Run
		ctx     Context
		want    []string // substrings, each in some note
		notWant []string // substrings in no note
	}{
		{
			name: "fin close at the loopback reuse cap: EADDRNOTAVAIL shows it",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 140000, Transactions: 140000},
				Failures: map[string]int64{dialer.FailAddrNotAvail: 12}, FailuresTotal: 12},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls, Builtin: true, CPUs: 2},
			want:    []string{"tops out near 14k new connections/s", "28232 ports / 2 / 1.0 s", "built-in listener ran in this process"},
			notWant: []string{"CPU was the limit"},
		},
		{
			name: "fin close at the loopback reuse cap: connect() searching shows it",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 140000, Transactions: 140000},
				ConnectCall: map[string]results.Phase{"75_90": summaryP50(t, 20_000, 1000), "90_100": summaryP50(t, 400_000, 50000)}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls, CPUs: 2},
			want:    []string{"tops out near 14k new connections/s", "connect() took 20.0 µs (p50) with 75-90% of the ports in use and 400 µs at 90-100%", "kernel's port search"},
			notWant: []string{"CPU was the limit", "TIME_WAIT reuse (sysctl"},
		},
		{
			// fin 14,088/s with every CPU busy and connect()'s p50 as
			// cheap as ever: the rate pinned at the cap is the evidence
			// (connbench and neper both made 14,130-14,170/s on these
			// ports in every run).
			name: "fin close at the cap by its rate",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 140880, Transactions: 140880},
				CPU:         results.CPU{UserNs: int64(3 * time.Second), SysNs: int64(8 * time.Second), ProcessUserNs: int64(5 * time.Second), ProcessSysNs: int64(14 * time.Second)},
				Listener:    &results.Listener{CPUUserNs: int64(2 * time.Second), CPUSysNs: int64(5 * time.Second)},
				ConnectCall: map[string]results.Phase{"lt50": summaryP50(t, 20_000, 1000), "90_100": summaryP50(t, 22_000, 50000)},
				Engine:      &results.Engine{ConnectCalls: 140880, ConnectCallNs: int64(3 * time.Second), LoopBusyNs: int64(10 * time.Second)}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls, Builtin: true, CPUs: 2},
			want:    []string{"tops out near 14k new connections/s", "This run made 14,088/s: at that cap", "walks the whole even half"},
			notWant: []string{"CPU was the limit", "port search"},
		},
		{
			name: "fin close near the cap without its evidence: the CPU was the limit",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 130000, Transactions: 130000},
				CPU:         results.CPU{UserNs: int64(3 * time.Second), SysNs: int64(8 * time.Second), ProcessUserNs: int64(5 * time.Second), ProcessSysNs: int64(14 * time.Second)},
				Listener:    &results.Listener{CPUUserNs: int64(2 * time.Second), CPUSysNs: int64(5 * time.Second)},
				ConnectCall: map[string]results.Phase{"lt50": summaryP50(t, 20_000, 1000), "90_100": summaryP50(t, 22_000, 50000)},
				Engine:      &results.Engine{ConnectCalls: 140880, ConnectCallNs: int64(3 * time.Second), LoopBusyNs: int64(10 * time.Second)}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls, Builtin: true, CPUs: 2},
			want:    []string{"CPU was the limit: client 84.6 µs + listener 53.8 µs of CPU per connection, 1.9 of 2 CPUs busy over the run (95%);", "--close rst or more --source addresses would not lift it"},
			notWant: []string{"tops out", "port search"},
		},
		{
			name: "fin close near the cap, loops waiting: neither limit",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 100000, Transactions: 100000},
				CPU:    results.CPU{UserNs: int64(1 * time.Second), SysNs: int64(2 * time.Second)},
				Engine: &results.Engine{ConnectCalls: 100000, ConnectCallNs: int64(time.Second), LoopBusyNs: int64(6 * time.Second)}},
			ctx:     Context{Config: perRequest4, Sysctls: hostSysctls, CPUs: 8},
			want:    []string{"neither the ports nor the CPUs limited the rate", "0.3 of 8 CPUs busy over the run (4%), and the loops waited in epoll_wait 85% of the run"},
			notWant: []string{"tops out", "CPU was the limit"},
		},
		{
			name: "fin close near the cap, loops busy on a shared machine",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 100000, Transactions: 100000},
				CPU:    results.CPU{UserNs: int64(1 * time.Second), SysNs: int64(2 * time.Second)},
				Engine: &results.Engine{ConnectCalls: 100000, ConnectCallNs: int64(time.Second), LoopBusyNs: int64(39 * time.Second)}},
			ctx:     Context{Config: perRequest4, Sysctls: hostSysctls, CPUs: 8},
			want:    []string{"CPU was the limit, shared with other work: the client's 4 loops were busy 98% of the run, yet this run had only 0.3 of 8 CPUs busy"},
			notWant: []string{"tops out", "neither"},
		},
		{
			name: "fin close near the cap, one loop saturated",
			run: results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 130000, Transactions: 130000},
				CPU: results.CPU{UserNs: int64(2 * time.Second), SysNs: int64(7 * time.Second)}, Listener: &results.Listener{CPUSysNs: int64(5 * time.Second)}},
			ctx:     Context{Config: perRequest1, Sysctls: hostSysctls, CPUs: 2},
			want:    []string{"the client's CPU was the limit: its 1 event loop kept 90% of a CPU each busy (client 69.2 µs + listener 38.5 µs of CPU per connection, 1.4 of 2 CPUs busy over the run (70%))"},
			notWant: []string{"tops out", "neither"},
		},
		{
			name:    "fin close near the cap, no engine figures: cannot tell",
			run:     results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 100000, Transactions: 100000}, CPU: results.CPU{UserNs: int64(1 * time.Second), SysNs: int64(2 * time.Second)}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls, CPUs: 8},
			want:    []string{"0.3 of 8 CPUs busy over the run (4%): the rest of the CPUs' time went to other processes or idle waits"},
			notWant: []string{"tops out", "CPU was the limit", "neither"},
		},
		{
			name:    "fin close near the cap, CPU count unknown",
			run:     results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 100000, Transactions: 100000}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls},
			want:    []string{"the host's CPU count is not recorded"},
			notWant: []string{"tops out", "CPU was the limit"},
		},
		{
			name:    "fin close far below the cap says nothing of it",
			run:     results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 10000, Transactions: 10000}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls},
			notWant: []string{"tops out", "built-in listener"},
		},
		{
			name:    "rst close never gets the TIME_WAIT note",
			run:     results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 200000, Transactions: 200000}},
			ctx:     Context{Config: rst, Sysctls: hostSysctls},
			notWant: []string{"TIME_WAIT"},
		},
		{
			name: "no reuse: ports run out after ports/rate",
			run:  results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 20000, Transactions: 20000}},
			ctx: Context{Config: perRequest, Sysctls: map[string]string{
				"net.ipv4.ip_local_port_range": "40000 40999", "net.ipv4.tcp_tw_reuse": "0"}},
			want: []string{"1000 ports at 2000 connections/s run out after about 0 s"},
		},
		{
			name: "exhaustion predicted and seen",
			run: results.Run{DurationNs: int64(20 * time.Second), Counts: results.Counts{Connections: 28000},
				Failures: map[string]int64{dialer.FailAddrNotAvail: 500}, FailuresTotal: 500,
				Exhaustion: &results.Exhaustion{FirstAddrNotAvailNs: int64(14100 * time.Millisecond), Stopped: true}},
			ctx: Context{Config: churn, Sysctls: hostSysctls, Prediction: &workloads.Prediction{At: 14 * time.Second, Text: "at 14 s"}},
			want: []string{"predicted: at 14 s; seen: the first EADDRNOTAVAIL came at 14.1 s; --until-exhausted stopped the run there",
				"500 connects failed with EADDRNOTAVAIL"},
		},
		{
			name: "exhaustion predicted, never seen",
			run:  results.Run{DurationNs: int64(5 * time.Second), Exhaustion: &results.Exhaustion{FirstAddrNotAvailNs: -1}},
			ctx:  Context{Config: churn, Sysctls: hostSysctls, Prediction: &workloads.Prediction{At: -1, Text: "none expected"}},
			want: []string{"seen: no EADDRNOTAVAIL happened"},
		},
		{
			name: "schedule not kept, no engine figures: no cause guessed",
			run: results.Run{DurationNs: int64(time.Second), Counts: results.Counts{Transactions: 1000},
				Schedule: &results.Schedule{RatePerSec: 2000, Behind: 5}},
			ctx:     Context{Config: churn, Sysctls: hostSysctls},
			want:    []string{"the schedule was not kept: 5 transactions were due but never started (this result has no engine figures"},
			notWant: []string{"raise --max-inflight", "port search"},
		},
		{
			name: "schedule not kept: the in-flight limit held starts back",
			run: results.Run{DurationNs: int64(time.Second), Counts: results.Counts{Transactions: 1000},
				Schedule: &results.Schedule{RatePerSec: 2000, Behind: 900},
				Engine:   &results.Engine{ConnectCalls: 1000, ConnectCallNs: int64(20 * time.Millisecond), LoopBusyNs: int64(200 * time.Millisecond), HeldByInflight: 950}},
			ctx:     Context{Config: churnInflight, Sysctls: hostSysctls},
			want:    []string{"950 starts waited for the in-flight limit (--max-inflight 64): raise --max-inflight or lower --rate"},
			notWant: []string{"port search"},
		},
		{
			name: "schedule not kept: the loops' CPU",
			run: results.Run{DurationNs: int64(time.Second), Counts: results.Counts{Transactions: 1000},
				Schedule: &results.Schedule{RatePerSec: 2000, Behind: 900},
				Engine:   &results.Engine{ConnectCalls: 1000, ConnectCallNs: int64(20 * time.Millisecond), LoopBusyNs: int64(990 * time.Millisecond)}},
			ctx:     Context{Config: churn, Sysctls: hostSysctls},
			want:    []string{"the in-flight limit held none back: the client's loops had no time left (its CPU was the limit; 2% of their busy time was connect())"},
			notWant: []string{"raise --max-inflight", "port search"},
		},
		{
			name:    "schedule kept within a thousandth",
			run:     results.Run{DurationNs: int64(time.Second), Counts: results.Counts{Transactions: 10000}, Schedule: &results.Schedule{RatePerSec: 2000, Behind: 5}},
			ctx:     Context{Config: churn, Sysctls: hostSysctls},
			notWant: []string{"schedule was not kept"},
		},
		{
			name: "descriptors ran out",
			run:  results.Run{DurationNs: int64(time.Second), Failures: map[string]int64{dialer.FailMFile: 3}, FailuresTotal: 3},
			ctx:  Context{Config: rst, Sysctls: hostSysctls},
			want: []string{"3 connections failed for want of file descriptors"},
		},
		{
			name: "backlog: handshakes by retransmission, and who got through",
			run: results.Run{Workload: "backlog", DurationNs: int64(5 * time.Second), Counts: results.Counts{Transactions: 50},
				FailuresTotal: 25, Phases: map[string]results.Phase{"handshake": phaseOf(t, time.Millisecond, time.Second+time.Millisecond, 2*time.Second+time.Millisecond)}},
			ctx:  Context{Config: backlog, Sysctls: hostSysctls},
			want: []string{"1 handshakes took under 0.5 s, 1 about 1 s, 1 about 2 s", "50 of 75 connections got through (66.7%)", "--connect-timeout 5s"},
		},
		{
			name: "synflood with cookies",
			run: results.Run{Workload: "synflood", Counts: results.Counts{Transactions: 600},
				Listener: &results.Listener{Counters: map[string]int64{"TcpExt.SyncookiesSent": 29242}}},
			ctx:     Context{Config: workloads.Config{Workload: "synflood", Target: loopback}, Sysctls: hostSysctls},
			want:    []string{"legitimate clients: 600 of 600", "answered with SYN cookies"},
			notWant: []string{"dropped SYNs"},
		},
		{
			name: "synflood without cookies",
			run: results.Run{Workload: "synflood", Counts: results.Counts{Transactions: 5}, FailuresTotal: 595,
				Listener: &results.Listener{Counters: map[string]int64{"TcpExt.TCPReqQFullDrop": 14938}}},
			ctx:  Context{Config: workloads.Config{Workload: "synflood", Target: loopback}, Sysctls: hostSysctls},
			want: []string{"without SYN cookies, the kernel dropped SYNs", "tcp_syncookies=0,1"},
		},
		{
			name: "CLOSE_WAIT leak",
			run: results.Run{Counts: results.Counts{Transactions: 200}, Listener: &results.Listener{Leaked: 200, PeakDescriptors: 201,
				PeakStates: map[string]int{"close_wait": 200}}},
			ctx:  Context{Config: rst, Sysctls: hostSysctls},
			want: []string{"--leak: the listener never closed 200 connections", "CLOSE_WAIT (peak 200)"},
		},
		{
			name: "hold short of its count names the limit",
			run: results.Run{Workload: "hold", Failures: map[string]int64{"EMFILE": 10, "connect_timeout": 2},
				Hold: &results.Hold{Asked: 100, Opened: 88, Held: 88, FixedBytes: 3 << 20}},
			ctx:  Context{Config: workloads.Config{Workload: "hold", Target: loopback}, Sysctls: hostSysctls},
			want: []string{"held 88 of the 100 connections asked for; the most common failure was EMFILE (10): the per-process open-file limit", "3.0 MiB"},
		},
		{
			name: "Fast Open asked, no SYN carried data",
			run:  results.Run{TCPInfo: &results.TCPInfo{Handshakes: 100, FastOpen: 100, SYNData: 0}},
			ctx:  Context{Config: fastopen, Sysctls: hostSysctls},
			want: []string{"connect→first byte", "only 0 of 100 connections (0.0%) had their request in the SYN: no SYN carried data"},
		},
		{
			name:    "Fast Open used",
			run:     results.Run{TCPInfo: &results.TCPInfo{Handshakes: 100, FastOpen: 100, SYNData: 100}},
			ctx:     Context{Config: fastopen, Sysctls: hostSysctls},
			notWant: []string{"warning"},
		},
		{
			name:    "emulated path, fin close, ports hardly used: no TIME_WAIT note",
			run:     results.Run{Path: &results.Path{}, Kernel: &results.Kernel{PortRangeSize: 28232, Sources: 1, PeakPortsInUse: 600}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls},
			want:    []string{"the path's own cost is in every figure"},
			notWant: []string{"not loopback"},
		},
		{
			name: "emulated path with fin close",
			run:  results.Run{Path: &results.Path{}, Kernel: &results.Kernel{PortRangeSize: 28232, Sources: 1, PeakPortsInUse: 14000}},
			ctx:  Context{Config: perRequest, Sysctls: hostSysctls},
			want: []string{"198.18.0.x) are not loopback", "the path's own cost is in every figure"},
		},
		{
			name:    "no path, no path notes",
			run:     results.Run{},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls},
			notWant: []string{"path"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes := Notes(&tc.run, tc.ctx)
			all := strings.Join(notes, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("no note says %q; notes:\n%s", w, all)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(all, w) {
					t.Errorf("a note says %q, which the run does not show; notes:\n%s", w, all)
				}
			}
		})
	}
}

// summaryP50 is a phase summary of n samples around p50 nanoseconds.
func summaryP50(t *testing.T, p50 int64, n int64) results.Phase {
	t.Helper()
	return results.Phase{Summary: histogram.Summary{Count: n, MinNs: p50 / 2, P50Ns: p50, P90Ns: 2 * p50, P99Ns: 4 * p50, P999Ns: 8 * p50, MaxNs: 10 * p50}}
}

func phaseOf(t *testing.T, vs ...time.Duration) results.Phase {
	t.Helper()
	rec := histogram.New()
	for _, v := range vs {
		rec.Record(int64(v))
	}
	p, err := results.NewPhase(rec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChecklist(t *testing.T) {
	items := Checklist(map[string]string{
		"net.ipv4.ip_local_port_range": "40000 40999",
		"net.ipv4.tcp_tw_reuse":        "1",
		"net.ipv4.tcp_timestamps":      "0",
		"net.ipv4.tcp_syn_retries":     "6",
		"net.ipv4.tcp_fastopen":        "1",
	})
	byTitle := map[string]Item{}
	for _, it := range items {
		byTitle[it.Title] = it
	}
	for title, want := range map[string]struct {
		meaning string
		warn    bool
	}{
		"ephemeral ports": {"sustains 16 new connections/s", true},
		"TIME_WAIT reuse": {"reuse needs timestamps and does not happen", true},
		"SYN retries":     {"after about 127 s", false},
		"TCP Fast Open":   {"client enabled (bit 0x1), server disabled (bit 0x2)", false},
	} {
		it, ok := byTitle[title]
		if !ok || !strings.Contains(it.Meaning, want.meaning) || it.Warn != want.warn {
			t.Errorf("%s: %+v; want meaning with %q and warn %v", title, it, want.meaning, want.warn)
		}
	}
	if _, ok := byTitle["SYN cookies"]; ok {
		t.Error("an item for a sysctl that was not given")
	}
}

func TestPortRange(t *testing.T) {
	for s, want := range map[string][3]int{"32768 60999": {32768, 60999, 1}, "1 2 3": {}, "5 1": {5, 1, 0}, "": {}, "a b": {}} {
		lo, hi, ok := PortRange(s)
		if ok != (want[2] == 1) || (ok && (lo != want[0] || hi != want[1])) {
			t.Errorf("PortRange(%q) = %d, %d, %v", s, lo, hi, ok)
		}
	}
}

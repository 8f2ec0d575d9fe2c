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
			name:    "fin close at the loopback reuse cap",
			run:     results.Run{DurationNs: int64(10 * time.Second), Counts: results.Counts{Connections: 140000, Transactions: 140000}},
			ctx:     Context{Config: perRequest, Sysctls: hostSysctls, Builtin: true},
			want:    []string{"tops out near 14k new connections/s", "28232 ports / 2 / 1.0 s", "built-in listener ran in this process"},
			notWant: []string{"EADDRNOTAVAIL"},
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
			want: []string{"predicted: at 14 s; seen: the first EADDRNOTAVAIL came at 14.1s; --until-exhausted stopped the run there",
				"500 connects failed with EADDRNOTAVAIL"},
		},
		{
			name: "exhaustion predicted, never seen",
			run:  results.Run{DurationNs: int64(5 * time.Second), Exhaustion: &results.Exhaustion{FirstAddrNotAvailNs: -1}},
			ctx:  Context{Config: churn, Sysctls: hostSysctls, Prediction: &workloads.Prediction{At: -1, Text: "none expected"}},
			want: []string{"seen: no EADDRNOTAVAIL happened"},
		},
		{
			name: "schedule not kept",
			run: results.Run{DurationNs: int64(time.Second), Counts: results.Counts{Transactions: 1000},
				Schedule: &results.Schedule{RatePerSec: 2000, Behind: 5}},
			ctx:  Context{Config: churn, Sysctls: hostSysctls},
			want: []string{"the schedule was not kept: 5 transactions were due but never started"},
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
			name: "emulated path with fin close",
			run:  results.Run{Path: &results.Path{}},
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

package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/workloads"
)

// stallRun is a result of the shape: churn at 2,000/s for 22 s
// with tcp_tw_reuse=0 averaged 694 connections/s; connect() cost 1,084 µs
// of system CPU per connection, 2,206 connects timed out, the schedule
// fell behind, and --max-inflight held nothing back.
func stallRun(t *testing.T) (results.Run, Context) {
	const conns = 694 * 22
	churn := workloads.Config{Workload: "churn", Target: loopback, Rate: 2000, MaxInflight: 4096, Socket: dialer.Options{Close: dialer.CloseFIN}}
	run := results.Run{
		Workload:      "churn",
		DurationNs:    int64(22 * time.Second),
		Counts:        results.Counts{Connections: conns, Transactions: conns},
		Failures:      map[string]int64{"connect_timeout": 2206},
		FailuresTotal: 2206,
		CPU:           results.CPU{UserNs: 40 * conns * 1000, SysNs: 1084 * conns * 1000},
		ConnectCall: map[string]results.Phase{
			"lt50":  summaryP50(t, 18_000, 14_000),
			"50_75": summaryP50(t, 1_400_000, 3_474),
		},
		Schedule: &results.Schedule{RatePerSec: 2000, Behind: 26_526},
		Exhaustion: &results.Exhaustion{PredictedNs: int64(14100 * time.Millisecond), Prediction: "28,232 ports at 2,000/s with 60 s TIME_WAIT → failures from ~14.1s",
			FirstAddrNotAvailNs: -1, PredictedStallNs: int64(7060 * time.Millisecond), StallNs: int64(7200 * time.Millisecond)},
		Engine: &results.Engine{ConnectCalls: conns + 2206, ConnectCallNs: int64(16 * time.Second), LoopBusyNs: int64(17 * time.Second),
			TimerLateMaxNs: int64(8300 * time.Millisecond), HeldByInflight: 0},
	}
	ctx := Context{Config: churn, CPUs: 2, Sysctls: map[string]string{
		"net.ipv4.ip_local_port_range": "32768 60999", "net.ipv4.tcp_tw_reuse": "0"}}
	return run, ctx
}

// TestStallNotes: on the stall the notes name the kernel's port
// search, with the remedies in the order they help; the schedule note
// blames connect(), not the in-flight limit; the exhaustion note sets the
// stall beside its prediction.
func TestStallNotes(t *testing.T) {
	run, ctx := stallRun(t)
	notes := Notes(&run, ctx)
	all := strings.Join(notes, "\n")
	for _, want := range []string{
		"connect() time went into the kernel's port search: connect() stalled from 7.20 s; connect() took 18.0 µs (p50) with under 50% of the ports in use and 1.40 ms at 50-75%; the loops spent 94% of their busy time inside connect() (916 µs per call)",
		"timers fired up to 8.30 s late",
		"the schedule was not kept: 26,526 transactions were due but never started; the in-flight limit held none back: the loops' time went into connect() (94% of it), the kernel's port search",
		"--max-inflight would not help",
		"predicted: 28,232 ports at 2,000/s with 60 s TIME_WAIT → failures from ~14.1s; connect()'s port search expected to stall from 7.06 s (half the range in use",
		"seen: connect() stalled from 7.20 s (the kernel's port search), no EADDRNOTAVAIL happened.",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no note says %q; notes:\n%s", want, all)
		}
	}
	if strings.Contains(all, "raise --max-inflight") || strings.Contains(all, "starts waited for the in-flight limit") {
		t.Errorf("a note blames the in-flight limit, which held nothing back:\n%s", all)
	}
	var search string
	for _, n := range notes {
		if strings.HasPrefix(n, "connect() time went into the kernel's port search") {
			search = n
		}
	}
	// Remedies in the order they help.
	last := -1
	for _, r := range []string{"tcp_tw_reuse=1", "IP_BIND_ADDRESS_NO_PORT / IP_LOCAL_PORT_RANGE (--bind-no-port, --local-port-range",
		"more source addresses (--source)", "a wider net.ipv4.ip_local_port_range", "RST close (--close rst", "pooling"} {
		i := strings.Index(search, r)
		if i <= last {
			t.Errorf("remedy %q missing or out of order in %q", r, search)
		}
		last = i
	}
	for _, n := range notes {
		if view.IsNothingNote(n) {
			t.Errorf("the stall's notes marked as nothing happened: %q", n)
		}
	}

	// --until-exhausted stopped at the stall: the note says which.
	run.Exhaustion.Stopped, run.Exhaustion.StoppedBy = true, "port_search_stall"
	if all := strings.Join(Notes(&run, ctx), "\n"); !strings.Contains(all, "--until-exhausted stopped the run at the stall (port_search_stall)") {
		t.Errorf("stop at the stall not said:\n%s", all)
	}
	run.Exhaustion.StoppedBy, run.Exhaustion.FirstAddrNotAvailNs = "EADDRNOTAVAIL", int64(9*time.Second)
	if all := strings.Join(Notes(&run, ctx), "\n"); !strings.Contains(all, "the first EADDRNOTAVAIL came at 9.00 s; --until-exhausted stopped the run at the first EADDRNOTAVAIL") {
		t.Errorf("stop at EADDRNOTAVAIL not said:\n%s", all)
	}

	// With reuse on and --close rst, those remedies are not offered again.
	ctx.Sysctls["net.ipv4.tcp_tw_reuse"] = "1"
	ctx.Config.Socket.Close = dialer.CloseRST
	all = strings.Join(Notes(&run, ctx), "\n")
	if !strings.Contains(all, "kernel's port search") || strings.Contains(all, "tcp_tw_reuse=1") || strings.Contains(all, "RST close") {
		t.Errorf("remedies already in force offered:\n%s", all)
	}
}

// TestPortSearchEvidence: each kind of evidence alone names the port
// search; connect() that is cheap, or that grows but stays fast, does not.
func TestPortSearchEvidence(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  results.Run
		want bool
	}{
		{"nothing", results.Run{}, false},
		{"stall seen", results.Run{Exhaustion: &results.Exhaustion{StallNs: 1}}, true},
		{"growth", results.Run{ConnectCall: map[string]results.Phase{"lt50": summaryP50(t, 20_000, 10), "90_100": summaryP50(t, 200_000, 10)}}, true},
		{"growth but still fast", results.Run{ConnectCall: map[string]results.Phase{"lt50": summaryP50(t, 10_000, 10), "90_100": summaryP50(t, 60_000, 10)}}, false},
		{"slow but no growth", results.Run{ConnectCall: map[string]results.Phase{"lt50": summaryP50(t, 200_000, 10), "90_100": summaryP50(t, 300_000, 10)}}, false},
		{"one band only", results.Run{ConnectCall: map[string]results.Phase{"90_100": summaryP50(t, 900_000, 10)}}, false},
		{"loops inside connect()", results.Run{Engine: &results.Engine{ConnectCalls: 1000, ConnectCallNs: int64(600 * time.Millisecond), LoopBusyNs: int64(time.Second)}}, true},
		{"connect() the loops' main work but cheap", results.Run{Engine: &results.Engine{ConnectCalls: 100000, ConnectCallNs: int64(600 * time.Millisecond), LoopBusyNs: int64(time.Second)}}, false},
		{"slow calls, small share", results.Run{Engine: &results.Engine{ConnectCalls: 1000, ConnectCallNs: int64(200 * time.Millisecond), LoopBusyNs: int64(time.Second)}}, false},
	} {
		if got := portSearch(&tc.run) != ""; got != tc.want {
			t.Errorf("%s: port search named %v, want %v (%q)", tc.name, got, tc.want, portSearch(&tc.run))
		}
	}
}

// TestNothingHappened: an exhaustion note where nothing was expected and
// nothing came is marked for the text to leave out; one where something
// was predicted or seen is not.
func TestNothingHappened(t *testing.T) {
	churn := workloads.Config{Workload: "churn", Target: loopback, Rate: 2000, Socket: dialer.Options{Close: dialer.CloseRST}}
	none := &workloads.Prediction{At: -1, Text: "--close rst leaves no TIME_WAIT: ports are free again at once; no exhaustion expected"}
	for _, tc := range []struct {
		name    string
		e       *results.Exhaustion
		pred    *workloads.Prediction
		nothing bool
	}{
		{"none expected, none seen", &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: -1}, none, true},
		{"none expected, EADDRNOTAVAIL seen", &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: 5}, none, false},
		{"none expected, stall seen", &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: -1, StallNs: 5}, none, false},
		{"stall predicted, none seen", &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: -1, PredictedStallNs: 5}, none, false},
		{"exhaustion predicted, none seen", &results.Exhaustion{PredictedNs: 5, FirstAddrNotAvailNs: -1}, &workloads.Prediction{At: 5, Text: "at 5 ns"}, false},
		{"from the record alone", &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: -1, Prediction: "no exhaustion expected"}, nil, true},
	} {
		r := results.Run{Exhaustion: tc.e}
		notes := Notes(&r, Context{Config: churn, Sysctls: hostSysctls, Prediction: tc.pred})
		var found bool
		for _, n := range notes {
			if strings.Contains(n, "port exhaustion:") {
				found = true
				if view.IsNothingNote(n) != tc.nothing {
					t.Errorf("%s: %q marked nothing-happened %v, want %v", tc.name, n, view.IsNothingNote(n), tc.nothing)
				}
			}
		}
		if !found {
			t.Errorf("%s: no exhaustion note in %q", tc.name, notes)
		}
	}
}

// TestPortSearchHold: a hold's ports are held, not in TIME_WAIT: its
// port-search note names held connections, offers neither TIME_WAIT
// reuse, RST close nor pooling, and its exhaustion note with no
// prediction says so instead of leaving the prediction empty.
func TestPortSearchHold(t *testing.T) {
	hold := workloads.Config{Workload: "hold", Target: loopback, Rate: 30000}
	r := results.Run{Exhaustion: &results.Exhaustion{StallNs: int64(18 * time.Second), FirstAddrNotAvailNs: -1}}
	all := strings.Join(Notes(&r, Context{Config: hold, Sysctls: map[string]string{"net.ipv4.tcp_tw_reuse": "0"}}), "\n")
	if !strings.Contains(all, "as held connections fill the range") {
		t.Errorf("hold's port search not put on held connections:\n%s", all)
	}
	for _, bad := range []string{"tcp_tw_reuse=1", "RST close", "pooling", "predicted: ;"} {
		if strings.Contains(all, bad) {
			t.Errorf("hold's notes offer %q:\n%s", bad, all)
		}
	}
	if !strings.Contains(all, "predicted: none (no port-exhaustion prediction") {
		t.Errorf("no prediction not said:\n%s", all)
	}
}

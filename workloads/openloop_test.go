package workloads

import (
	"math"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
)

func TestScheduleConstantAndRamp(t *testing.T) {
	c := Config{Rate: 1000, Duration: time.Second}
	s := newSchedule(&c)
	if got := s.at(1000); got != int64(time.Second) {
		t.Errorf("constant 1000/s: op 1000 due at %d ns, want 1e9", got)
	}
	// Ramp 0 -> 1000/s over 1 s: 500 due in all (the mean rate), the
	// first half second holds a quarter of them.
	c = Config{Rate: 0, RateEnd: 1000, Duration: time.Second}
	s = newSchedule(&c)
	if got := s.at(500); math.Abs(float64(got)-1e9) > 1e6 {
		t.Errorf("ramp: op 500 due at %d ns, want 1e9", got)
	}
	if got := s.at(125); math.Abs(float64(got)-0.5e9) > 1e6 {
		t.Errorf("ramp: op 125 due at %d ns, want 0.5e9", got)
	}
	prev := int64(-1)
	for k := int64(0); k < 500; k++ {
		if at := s.at(k); at < prev {
			t.Fatalf("schedule goes back at op %d", k)
		} else {
			prev = at
		}
	}
	// With a warm-up, the ramp starts after it at the first rate.
	c = Config{Rate: 100, RateEnd: 300, Duration: time.Second, Warmup: time.Second}
	s = newSchedule(&c)
	if got := s.at(100); got != int64(time.Second) {
		t.Errorf("warm-up at 100/s: op 100 due at %d", got)
	}
	if got := s.at(300); math.Abs(float64(got)-2e9) > 1e6 {
		t.Errorf("ramp 100->300 after warm-up: op 300 due at %d, want 2e9", got)
	}
}

// TestOpenLoopKeepsSchedule: at a rate the loopback sustains easily, every
// scheduled transaction starts, and the time series sums to the totals.
func TestOpenLoopKeepsSchedule(t *testing.T) {
	ln, _ := startListener(t, listener.Config{})
	const rate, dur = 2000, 500 * time.Millisecond
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Rate: rate, Duration: dur,
		Interval: 100 * time.Millisecond, Socket: dialer.Options{Close: dialer.CloseRST}})
	asked := int64(rate * dur.Seconds())
	started := res.Transactions + res.FailuresTotal()
	if started+res.Behind > asked+1 || started < asked*99/100 {
		t.Errorf("asked %d, started %d (behind %d): schedule not kept within 1%%", asked, started, res.Behind)
	}
	// Start lags are recorded at the start, so transactions still in flight
	// at the end (abandoned, neither done nor failed) have one too.
	if lag := res.Phases[PhaseStartLag].Count(); res.Phases[PhaseScheduled].Count() != res.Transactions || lag < started || lag > started+int64(64) {
		t.Errorf("scheduled phase %d, start lag %d; want %d and %d", res.Phases[PhaseScheduled].Count(), res.Phases[PhaseStartLag].Count(), res.Transactions, started)
	}
	var tx, conns int64
	for _, iv := range res.Series {
		if !iv.Warmup {
			tx += iv.Transactions
			conns += iv.Connections
		}
	}
	if tx != res.Transactions || conns != res.Connections {
		t.Errorf("series sums to %d transactions, %d connections; totals %d, %d", tx, conns, res.Transactions, res.Connections)
	}
	if n := len(res.Series); n < 5 || n > 6 {
		t.Errorf("%d intervals of 100ms in a 500ms run", n)
	}
	if res.Kernel == nil || res.Kernel.Samples == 0 {
		t.Errorf("no kernel samples: %+v", res.Kernel)
	}
}

// TestOpenLoopPooled: a pool of connections serves a schedule.
func TestOpenLoopPooled(t *testing.T) {
	ln, ports := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 4, Rate: 1000, Requests: 300})
	if res.Transactions != 300 || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
	}
	if ports.len() != 4 {
		t.Errorf("%d connections for a pool of 4", ports.len())
	}
}

// TestChurn: connections at a rate, no data unless --exchange.
func TestChurn(t *testing.T) {
	ln, _ := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "churn", Target: ln.Addr(), Rate: 1000, Requests: 200, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != 200 || res.Connections != 200 || res.BytesSent != 0 {
		t.Fatalf("transactions %d, connections %d, bytes %d, failures %v", res.Transactions, res.Connections, res.BytesSent, res.Failures)
	}
	res = run(t, Config{Workload: "churn", Exchange: true, Target: ln.Addr(), Rate: 1000, Requests: 100, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != 100 || res.BytesReceived != 100 {
		t.Fatalf("with exchange: transactions %d, bytes received %d", res.Transactions, res.BytesReceived)
	}
	if err := (&Config{Workload: "churn", Target: ln.Addr(), Requests: 1}).Normalize(2); err == nil {
		t.Error("churn without --rate accepted")
	}
}

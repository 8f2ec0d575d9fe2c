package workloads

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/segment"
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
	// The loops' own account: one connect() per started transaction
	// (those due in the last moments may be abandoned after theirs), busy
	// time covering them, no start held by the in-flight limit.
	if res.ConnectCalls < started || res.ConnectCalls > started+64 || res.ConnectCallTime <= 0 || res.LoopBusy < res.ConnectCallTime {
		t.Errorf("connect() %d calls in %v, loops busy %v; %d started", res.ConnectCalls, res.ConnectCallTime, res.LoopBusy, started)
	}
	if res.HeldByInflight != 0 || res.Stall >= 0 {
		t.Errorf("held by --max-inflight %d, stall at %v: want none at an easy rate", res.HeldByInflight, res.Stall)
	}
}

// TestOpenLoopHeldByInflight: a server that never answers holds every
// transaction until its response timeout, so two slots cannot keep
// 1,000/s: the due starts that wait for a slot are counted, and they are
// what fell behind, not connect().
func TestOpenLoopHeldByInflight(t *testing.T) {
	ln, _ := startListener(t, listener.Config{Mode: listener.Discard})
	res := run(t, Config{Workload: "churn", Exchange: true, Target: ln.Addr(), Rate: 1000, Duration: 300 * time.Millisecond,
		Loops: 1, MaxInflight: 2, Timeouts: dialer.Timeouts{Response: 50 * time.Millisecond}, Socket: dialer.Options{Close: dialer.CloseRST}})
	// 2 slots × 300 ms / 50 ms: about 12 starts of the 300 due.
	if res.HeldByInflight < 100 || res.Behind < 100 {
		t.Errorf("held by --max-inflight %d, behind %d: want most of the 300 due", res.HeldByInflight, res.Behind)
	}
	if n := res.Failures[dialer.FailResponseTimeout]; n == 0 || res.TimerLateMax <= 0 {
		t.Errorf("%d response timeouts, timer late max %v: want timers fired and their lateness", n, res.TimerLateMax)
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

// TestCoordinatedOmission: the listener hangs for 300 ms in the middle of
// an open-loop pooled run whose pool is too small to start what falls due
// meanwhile. Timed from the schedule, the stall shows in the high
// percentiles; timed from the actual start, it does not (that is the
// coordinated omission a closed loop would report).
func TestCoordinatedOmission(t *testing.T) {
	ln, _ := startListener(t, listener.Config{StallAfter: 300 * time.Millisecond, StallFor: 300 * time.Millisecond})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Rate: 1000, Duration: 1200 * time.Millisecond,
		Timeouts: dialer.Timeouts{Response: 5 * time.Second}})
	if res.FailuresTotal() != 0 {
		t.Fatalf("failures %v", res.Failures)
	}
	sched, actual := res.Phases[PhaseScheduled], res.Phases[PhaseTransaction]
	// About a quarter of the run falls due during or just after the stall.
	if p := sched.ValueAt(90); p < int64(100*time.Millisecond) {
		t.Errorf("scheduled view p90 %v: the stall does not show", time.Duration(p))
	}
	if p := actual.ValueAt(90); p > int64(50*time.Millisecond) {
		t.Errorf("actual-start view p90 %v: it should hide the stall", time.Duration(p))
	}
	if m := actual.ValueAt(100); m < int64(150*time.Millisecond) {
		t.Errorf("actual-start max %v: the two transactions caught in the stall should show it", time.Duration(m))
	}
}

// TestDrainThenStop: cancelling the context stops new work and lets what
// is in flight finish or time out; HardStop abandons it at once.
func TestDrainThenStop(t *testing.T) {
	ln, _ := startListener(t, listener.Config{Mode: listener.Discard}) // never answers
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, "requests in flight", func() bool { return ln.Stats().BytesReceived >= 2 })
		cancel()
	}()
	res, err := Run(ctx, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Duration: time.Hour,
		Timeouts: dialer.Timeouts{Response: 300 * time.Millisecond}})
	if err != nil || !res.Partial {
		t.Fatalf("drain: err %v, partial %v", err, res != nil && res.Partial)
	}
	if n := res.Failures[dialer.FailResponseTimeout]; n != 2 {
		t.Errorf("drain: %d response timeouts, want the 2 in flight to time out", n)
	}

	ctx, cancel = context.WithCancel(context.Background())
	hard := make(chan struct{})
	before := ln.Stats().BytesReceived
	go func() {
		waitFor(t, "requests in flight", func() bool { return ln.Stats().BytesReceived >= before+2 })
		cancel()
		close(hard)
	}()
	start := time.Now()
	res, err = Run(ctx, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Duration: time.Hour, HardStop: hard,
		Timeouts: dialer.Timeouts{Response: 10 * time.Second}})
	if err != nil || !res.Partial || res.FailuresTotal() != 0 {
		t.Errorf("hard stop: err %v, failures %v", err, res.Failures)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("hard stop waited %v for the response timeout", time.Since(start))
	}
}

// TestScheduleSegmentsInterleave: the arrivals of the segments of a split
// run, each scheduled with its share of the rate, are the one generator's
// arrivals: exactly when given the whole rates (as the runner does), and
// to the nanosecond from the shares alone (a share of the rate divided
// back may be off in the last bit of a float64); constant and ramped,
// with a warm-up.
func TestScheduleSegmentsInterleave(t *testing.T) {
	for _, base := range []Config{
		{Rate: 1000, Duration: time.Second},
		{Rate: 300, RateEnd: 3000, Duration: 2 * time.Second, Warmup: 100 * time.Millisecond},
		{Rate: 7, Duration: time.Second},
	} {
		whole := newSchedule(&base)
		for _, n := range []int{1, 2, 3, 4, 7} {
			var got, exactAt []int64
			for _, sg := range segment.Split(n) {
				c := base
				c.Segment = sg
				f := sg.Fraction()
				c.Rate, c.RateEnd = base.Rate*f, base.RateEnd*f
				s := newSchedule(&c)
				c.WholeRate, c.WholeRateEnd = base.Rate, base.RateEnd
				exact := newSchedule(&c)
				for k := int64(0); k < 600/int64(n); k++ {
					got = append(got, s.at(k))
					exactAt = append(exactAt, exact.at(k))
				}
			}
			slices.Sort(got)
			slices.Sort(exactAt)
			for k, at := range exactAt[:600-n] {
				if at != whole.at(int64(k)) {
					t.Fatalf("rate %g:%g in %d segments, whole rates given: arrival %d at %d ns, the whole schedule's at %d", base.Rate, base.RateEnd, n, k, at, whole.at(int64(k)))
				}
			}
			for k, at := range got[:600-n] {
				if d := at - whole.at(int64(k)); d < -1 || d > 1 {
					t.Fatalf("rate %g:%g in %d segments: arrival %d at %d ns, the whole schedule's at %d", base.Rate, base.RateEnd, n, k, at, whole.at(int64(k)))
				}
			}
		}
	}
}

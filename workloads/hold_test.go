package workloads

import (
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
)

// hold opens -n connections on its schedule, keeps every one of them open
// for the hold time, pings each on its own timer, and reports how many it
// held and how long opening took.
func TestHold(t *testing.T) {
	ln, ps := startListener(t, listener.Config{})
	const n = 2000
	var peakOpen int64
	res := run(t, Config{
		Workload: "hold", Target: ln.Addr(), Requests: n, Rate: 8000, Duration: 400 * time.Millisecond,
		Ping: 100 * time.Millisecond, Socket: dialer.Options{Close: dialer.CloseRST}, Interval: 50 * time.Millisecond,
		OnInterval: func(iv Interval) {
			if s := ln.Stats(); s.Open > peakOpen {
				peakOpen = s.Open
			}
		},
	})
	h := res.Hold
	if h == nil {
		t.Fatal("no hold record")
	}
	if h.Asked != n || h.Opened != n || h.Held != n || res.Connections != n || res.FailuresTotal() != 0 {
		t.Fatalf("hold %+v, connections %d, failures %v: want all %d opened and held", *h, res.Connections, res.Failures, n)
	}
	if ps.len() != n {
		t.Errorf("the listener saw %d distinct peers, want %d", ps.len(), n)
	}
	if peakOpen != n {
		t.Errorf("the listener held at most %d connections at once, want all %d", peakOpen, n)
	}
	// The schedule spaces the opens 1/8000 s apart: opening cannot be
	// faster than that, and the hold comes after.
	if h.OpenTime < n*time.Second/8000*9/10 {
		t.Errorf("opened %d connections in %v: faster than the schedule allows", n, h.OpenTime)
	}
	if res.Elapsed < h.OpenTime+400*time.Millisecond {
		t.Errorf("run lasted %v, want at least the open time %v + the 400ms hold", res.Elapsed, h.OpenTime)
	}
	// Every connection is pinged every 100 ms from its handshake on, and
	// held at least 400 ms: three pings each when the loops keep time,
	// two at the least on a loaded machine.
	if res.Transactions < 2*n {
		t.Errorf("%d pings answered, want at least %d", res.Transactions, 2*n)
	}
	if c := res.Phases[PhaseTransaction].Count(); c != res.Transactions {
		t.Errorf("ping latency has %d values for %d pings", c, res.Transactions)
	}
	if res.Phases[PhaseHandshake].Count() != n {
		t.Errorf("%d handshakes recorded, want %d", res.Phases[PhaseHandshake].Count(), n)
	}
}

// Connections the server drops while they are held count as failures and
// are not held at the end; the hold then ends, having nothing left.
func TestHoldLosesConnections(t *testing.T) {
	ln, err := listener.Start(listener.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 200
	closed := false
	res := run(t, Config{
		Workload: "hold", Target: ln.Addr(), Requests: n, Rate: 4000, Duration: time.Minute,
		Interval: 20 * time.Millisecond, Socket: dialer.Options{Close: dialer.CloseRST},
		OnInterval: func(iv Interval) {
			if !closed && ln.Stats().Open == n {
				closed = true
				ln.Close() // closes every connection it holds
			}
		},
	})
	h := res.Hold
	if !closed || h == nil || h.Opened != n || h.Held != 0 {
		t.Fatalf("closed %v, hold %+v: want %d opened, none held at the end", closed, h, n)
	}
	if f := res.FailuresTotal(); f != n {
		t.Errorf("failures %v, want %d lost connections", res.Failures, n)
	}
	if res.Elapsed > 30*time.Second {
		t.Errorf("the hold went on for %v with nothing left to hold", res.Elapsed)
	}
}

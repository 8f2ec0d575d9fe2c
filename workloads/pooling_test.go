package workloads

import (
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/protocol"
)

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// TestRequestsPerConn: with --requests-per-conn N the built-in listener
// accepts ceil(transactions / N) connections, give or take a partly used
// last connection per slot (the in-flight slack, -c), in a closed and an
// open loop, raw and http.
func TestRequestsPerConn(t *testing.T) {
	const n, c = 600, 4
	checkFD(t)
	for _, tc := range []struct {
		name   string
		perReq int64
		http   bool
		rate   float64
	}{
		{"raw/1", 1, false, 0},
		{"raw/7", 7, false, 0},
		{"raw/inf", 0, false, 0},
		{"http/5", 5, true, 0},
		{"raw/open/5", 5, false, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc := listener.Config{}
			cfg := Config{Workload: "pooled", Concurrency: c, Requests: n, Loops: 2, RequestsPerConn: tc.perReq,
				Rate: tc.rate, Socket: dialer.Options{Close: dialer.CloseRST}}
			if tc.http {
				lc.Mode = listener.HTTP
			}
			ln, _ := startListener(t, lc)
			cfg.Target = ln.Addr()
			if tc.http {
				p, err := protocol.New("http", protocol.Options{Target: ln.Addr()})
				if err != nil {
					t.Fatal(err)
				}
				cfg.Protocol = p
			}
			res := run(t, cfg)
			if res.Transactions != n || res.FailuresTotal() != 0 {
				t.Fatalf("transactions %d, failures %v; want %d, none", res.Transactions, res.Failures, n)
			}
			waitFor(t, "listener to answer every request", func() bool { return ln.Stats().Requests == n })
			// A pool that never recycles: -c connections at most (a
			// loop that starts late may find the requests all done).
			lo, hi := int64(1), int64(c)
			if tc.perReq > 0 {
				lo, hi = ceilDiv(n, tc.perReq), ceilDiv(n, tc.perReq)+c-1
				if tc.rate > 0 {
					// An open-loop pool replaces a connection at once,
					// before a transaction wants it: the last
					// replacements may serve none.
					hi++
				}
			}
			// The listener counts an accept after the client's handshake
			// has completed: wait until it has what the client counted.
			waitFor(t, "listener to accept what the client opened", func() bool { return ln.Stats().Accepted >= res.Connections })
			acc := ln.Stats().Accepted
			t.Logf("N=%d: %d transactions, %d connections (%d recycled), listener accepted %d; want %d to %d",
				tc.perReq, res.Transactions, res.Connections, res.Recycled, acc, lo, hi)
			if acc < lo || acc > hi {
				t.Errorf("listener accepted %d connections for %d transactions at %d per connection; want %d to %d", acc, n, tc.perReq, lo, hi)
			}
			if tc.rate == 0 && res.Connections != acc {
				t.Errorf("client counted %d new connections, listener accepted %d", res.Connections, acc)
			}
			// Closed loop: every recycled connection is replaced by the
			// next transaction's, but for each slot's last one.
			if tc.rate == 0 && tc.perReq > 0 && (res.Connections < res.Recycled || res.Connections > res.Recycled+c) {
				t.Errorf("%d connections, %d recycled: want %d to %d", res.Connections, res.Recycled, res.Recycled, res.Recycled+c)
			}
			if tc.perReq == 0 && res.Recycled != 0 {
				t.Errorf("recycled %d connections with no limit", res.Recycled)
			}
			if got := res.Phases[PhaseHandshake].Count(); got != res.Connections {
				t.Errorf("%d handshakes recorded for %d new connections", got, res.Connections)
			}
		})
	}
}

// TestMaxConnAge: connections are replaced once they are --max-conn-age
// old, never before: the counts bound each other whatever the timing.
func TestMaxConnAge(t *testing.T) {
	const c, age = 2, 50 * time.Millisecond
	ln, _ := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: c, Loops: 1, Duration: 400 * time.Millisecond,
		MaxConnAge: age, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.FailuresTotal() != 0 || res.Transactions == 0 {
		t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
	}
	// No connection is recycled younger than age: at most c × the run's
	// length in ages (the run's elapsed time, whatever the machine did).
	most := int64(c) * int64(res.Elapsed/age)
	if res.Recycled < 1 || res.Recycled > most {
		t.Errorf("%d connections recycled in %v at age %v with %d slots; want 1 to %d", res.Recycled, res.Elapsed, age, c, most)
	}
	if res.Connections < res.Recycled || res.Connections > res.Recycled+c {
		t.Errorf("%d new connections for %d recycled: want %d to %d", res.Connections, res.Recycled, res.Recycled, res.Recycled+c)
	}
	waitFor(t, "listener to accept what the client opened", func() bool { return ln.Stats().Accepted >= res.Connections })
	if acc := ln.Stats().Accepted; acc > res.Connections+c {
		t.Errorf("listener accepted %d, client opened %d", acc, res.Connections)
	}
}

// TestIdleClose: the built-in listener closes connections idle for
// --idle-close; an open-loop pool whose connections wait longer than that
// between transactions finds them closed and replaces them, retrying any
// request that met one, and nothing fails.
func TestIdleClose(t *testing.T) {
	const c = 4
	ln, _ := startListener(t, listener.Config{IdleClose: 20 * time.Millisecond})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: c, Loops: 1, Rate: 25, Requests: 20,
		Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != 20 || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, failures %v; want 20, none", res.Transactions, res.Failures)
	}
	// 40 ms between transactions, 20 ms to idle: every pool connection
	// is closed idle at least once.
	st := ln.Stats()
	if st.IdleClosed < c {
		t.Errorf("listener closed %d idle connections; want at least the pool's %d", st.IdleClosed, c)
	}
	// Each idle close the client saw (idle in the pool, or under a request
	// it then retried) is one the listener made; those made as the run
	// ended may go unseen.
	if res.ServerClosed > st.IdleClosed || res.ServerClosed < 1 || res.Retried > res.ServerClosed {
		t.Errorf("client saw %d server closes (%d retried); listener closed %d idle", res.ServerClosed, res.Retried, st.IdleClosed)
	}
	t.Logf("listener accepted %d, closed %d idle; client: %d connections, %d server closes, %d retried",
		st.Accepted, st.IdleClosed, res.Connections, res.ServerClosed, res.Retried)
}

// oneShotServer answers one 1-byte request per connection with one byte,
// then closes the connection when the next request arrives, without an
// answer: every reused connection meets a server that closed it. With
// answerNone it closes on the first request. It returns its address and
// the count of connections it accepted.
func oneShotServer(t *testing.T, answerNone bool) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err != nil || answerNone {
					return
				}
				c.Write(b)
				io.ReadFull(c, b) // the next request: close unanswered
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return netip.MustParseAddrPort(l.Addr().String()), &accepted
}

// TestRetryOnServerClose: a request on a reused connection that the
// server closed, with nothing back, is retried once on a new connection
// and counted as retried, not failed; a request on a fresh connection
// that gets nothing back is a failure and is not retried.
func TestRetryOnServerClose(t *testing.T) {
	const n, c = 200, 2
	addr, accepted := oneShotServer(t, false)
	res := run(t, Config{Workload: "pooled", Target: addr, Concurrency: c, Loops: 1, Requests: n,
		Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != n || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, failures %v; want %d, none", res.Transactions, res.Failures, n)
	}
	// Each connection serves one transaction; every later transaction met
	// a closed connection first.
	if res.Retried != n-c || res.ServerClosed != res.Retried || res.Connections != n {
		t.Errorf("retried %d, server closed %d, connections %d; want %d, %d, %d", res.Retried, res.ServerClosed, res.Connections, n-c, n-c, n)
	}
	waitFor(t, "server to accept every connection", func() bool { return accepted.Load() == n })

	addr, _ = oneShotServer(t, true)
	res = run(t, Config{Workload: "pooled", Target: addr, Concurrency: c, Loops: 1, Requests: 50,
		Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Retried != 0 || res.FailuresTotal() != 50 || res.Transactions != 0 {
		t.Errorf("fresh connections closed unanswered: retried %d, failures %v, transactions %d; want 0, 50, 0", res.Retried, res.Failures, res.Transactions)
	}
}

func TestPoolingNormalize(t *testing.T) {
	base := Config{Target: netip.MustParseAddrPort("127.0.0.1:9"), Requests: 1}
	for _, tc := range []struct {
		w       string
		perConn int64
		age     time.Duration
		ok      bool
	}{
		{"pooled", 10, 0, true},
		{"pooled", 0, time.Second, true},
		{"pooled", -1, 0, false},
		{"pooled", MaxRequestsPerConn + 1, 0, false},
		{"pooled", 0, -time.Second, false},
		{"per-request", 10, 0, false},
		{"churn", 0, time.Second, false},
	} {
		c := base
		c.Workload, c.RequestsPerConn, c.MaxConnAge = tc.w, tc.perConn, tc.age
		if tc.w == "churn" {
			c.Rate = 10
		}
		if err := c.Normalize(2); (err == nil) != tc.ok {
			t.Errorf("%s requests-per-conn %d max-conn-age %v: err %v, want ok %v", tc.w, tc.perConn, tc.age, err, tc.ok)
		}
	}
}

// TestMaxConnAgeIdlePool: in an open-loop pool, a connection that aged
// while idle is replaced when the schedule takes it, not used.
func TestMaxConnAgeIdlePool(t *testing.T) {
	const c = 3
	ln, _ := startListener(t, listener.Config{})
	// 20 transactions 20 ms apart on a pool of 3, connections at most
	// 5 ms old: each one taken has aged, so is replaced at once (and so
	// is its replacement when it ages waiting): every transaction runs on
	// a connection younger than the limit.
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: c, Loops: 1, Rate: 50, Requests: 20,
		MaxConnAge: 5 * time.Millisecond, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != 20 || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
	}
	if res.Recycled < 20-c {
		t.Errorf("%d connections recycled (%d new) for 20 transactions 20 ms apart at a 5 ms age limit, in %v; want at least %d", res.Recycled, res.Connections, res.Elapsed, 20-c)
	}
}

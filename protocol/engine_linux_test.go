package protocol_test

// End-to-end tests of the engine's framed read path: workloads.Run with a
// Protocol against the built-in listener in HTTP mode and against small
// scripted servers that misbehave on purpose.

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/workloads"
)

func run(t *testing.T, cfg workloads.Config) *workloads.Result {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	cfg.NoSample = true
	if cfg.Timeouts.Response == 0 {
		cfg.Timeouts = dialer.Timeouts{Connect: 5 * time.Second, Response: 5 * time.Second}
	}
	res, err := workloads.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func newProto(t *testing.T, name string, o protocol.Options) protocol.Protocol {
	t.Helper()
	p, err := protocol.New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkClean asserts n transactions, all complete, none failed, every
// response counted under status, and every phase recorded per transaction.
func checkClean(t *testing.T, res *workloads.Result, n int64, status string) {
	t.Helper()
	if res.Transactions != n || res.FailuresTotal() != 0 {
		t.Fatalf("%d transactions, failures %v; want %d and none", res.Transactions, res.Failures, n)
	}
	if got := res.Statuses[status]; got != n || len(res.Statuses) != 1 {
		t.Errorf("statuses %v, want %s: %d", res.Statuses, status, n)
	}
	for _, ph := range []string{workloads.PhaseFirstByte, workloads.PhaseResponse, workloads.PhaseTransaction} {
		if c := res.Phases[ph].Count(); c != n {
			t.Errorf("phase %s has %d samples, want %d", ph, c, n)
		}
	}
}

// TestBuiltinHTTP: pooled keep-alive and per-request Connection: close
// against the built-in listener in HTTP mode; both sides count the same,
// and a body larger than the loop's read buffer arrives over several reads.
func TestBuiltinHTTP(t *testing.T) {
	for _, size := range []int{1, 200 << 10} {
		ln, err := listener.Start(listener.Config{Mode: listener.HTTP, ResponseSize: size, Loops: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p := newProto(t, "http", protocol.Options{Target: ln.Addr()})
		respLen := int64(len("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n") + len(itoa(size)) + size)
		for _, w := range []string{"pooled", "per-request"} {
			before := ln.Stats()
			const n, c = 600, 4
			res := run(t, workloads.Config{Workload: w, Target: ln.Addr(), Protocol: p, Concurrency: c, Requests: n})
			checkClean(t, res, n, "2xx")
			// Pooled with -n: a loop may use up the requests before the
			// other loop's connections are needed; at most -c.
			wantConns := min(res.Connections, c)
			if w == "per-request" {
				wantConns = n
				respLen += int64(len("Connection: close\r\n"))
			}
			if res.Connections != wantConns || res.Connections < 1 || res.BytesReceived != n*respLen || res.BytesSent != n*int64(len(p.Request(w == "pooled"))) {
				t.Errorf("%s, %d-byte body: %d connections, %d bytes in, %d out; want %d, %d, %d", w, size,
					res.Connections, res.BytesReceived, res.BytesSent, wantConns, n*respLen, n*int64(len(p.Request(w == "pooled"))))
			}
			waitFor(t, "the listener to count the run", func() bool {
				s := ln.Stats()
				return s.Requests-before.Requests == n && s.Closed-before.Closed == s.Accepted-before.Accepted
			})
			if s := ln.Stats(); s.Accepted-before.Accepted != wantConns || s.Errors != 0 {
				t.Errorf("%s: listener accepted %d, errors %d; want %d, 0", w, s.Accepted-before.Accepted, s.Errors, wantConns)
			}
		}
	}
}

// TestFramedNoAllocs: nothing on the per-transaction path of a framed
// run allocates, client or listener: with every allocation profiled, none
// has those functions on its stack (bar a framer's one-off head buffer).
func TestFramedNoAllocs(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	ln, err := listener.Start(listener.Config{Mode: listener.HTTP, ResponseSize: 64, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := newProto(t, "http", protocol.Options{Target: ln.Addr()})
	const n = 20000
	res := run(t, workloads.Config{Workload: "pooled", Target: ln.Addr(), Protocol: p, Concurrency: 4, Requests: n})
	checkClean(t, res, n, "2xx")
	runtime.GC()
	runtime.GC() // the profile is up to two cycles old
	var recs []runtime.MemProfileRecord
	for {
		k, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:k]
			break
		}
		recs = make([]runtime.MemProfileRecord, k+100)
	}
	// Framer calls are under readFramed; unit tests' framer allocations
	// (sampled before the rate changed) are not.
	hot := []string{"workloads.(*loop).read", "workloads.(*loop).framed", "workloads.(*loop).finish",
		"workloads.(*loop).send", "workloads.(*loop).write", "workloads.(*loop).event",
		"listener.(*loop).serve", "listener.(*loop).flush"}
	var total int64
	for _, r := range recs {
		frames := runtime.CallersFrames(r.Stack())
	stack:
		for {
			f, more := frames.Next()
			for _, h := range hot {
				if strings.Contains(f.Function, h) {
					total += r.AllocObjects
					t.Logf("%d allocations under %s (%s:%d)", r.AllocObjects, f.Function, f.File, f.Line)
					break stack
				}
			}
			if !more {
				break
			}
		}
	}
	if total > 4 {
		t.Errorf("%d allocations on the per-transaction path in %d transactions, want none", total, n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// script is a scripted server: for the i-th request it receives (counted
// over all connections, from 0), reply(i) gives the bytes to send and
// whether to close the connection after them.
type script struct {
	ln       net.Listener
	accepted atomic.Int64
	requests atomic.Int64
	wg       sync.WaitGroup
}

// serve starts a scripted server; a request is reqLen bytes.
func serve(t *testing.T, reqLen int, reply func(i int64) ([]byte, bool)) *script {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &script{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				buf := make([]byte, reqLen)
				for {
					if _, err := io.ReadFull(r, buf); err != nil {
						return
					}
					b, closeAfter := reply(s.requests.Add(1) - 1)
					if _, err := c.Write(b); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *script) addr() netip.AddrPort { return netip.MustParseAddrPort(s.ln.Addr().String()) }

// TestHTTPStatusClasses: non-2xx responses are completed transactions,
// counted by class.
func TestHTTPStatusClasses(t *testing.T) {
	p := newProto(t, "http", protocol.Options{Host: "x"})
	codes := []string{"200 OK", "301 Moved", "404 Not Found", "503 Unavailable"}
	s := serve(t, len(p.Request(true)), func(i int64) ([]byte, bool) {
		return []byte("HTTP/1.1 " + codes[i%4] + "\r\nContent-Length: 2\r\n\r\nok"), false
	})
	res := run(t, workloads.Config{Workload: "pooled", Target: s.addr(), Protocol: p, Concurrency: 1, Requests: 400})
	if res.Transactions != 400 || res.FailuresTotal() != 0 {
		t.Fatalf("%d transactions, failures %v", res.Transactions, res.Failures)
	}
	for _, k := range []string{"2xx", "3xx", "4xx", "5xx"} {
		if res.Statuses[k] != 100 {
			t.Errorf("statuses %v: want 100 of each class", res.Statuses)
			break
		}
	}
}

// TestHTTPServerCloses: a keep-alive server that ends some connections
// with "Connection: close" (as nginx does after keepalive_requests) or with
// a body delimited by the close: the pooled client reconnects, closed and
// open loop, and nothing fails.
func TestHTTPServerCloses(t *testing.T) {
	p := newProto(t, "http", protocol.Options{Host: "x"})
	for _, c := range []struct {
		name  string
		reply func(i int64) ([]byte, bool)
	}{
		{"connection-close", func(i int64) ([]byte, bool) {
			if i%3 == 2 {
				return []byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"), true
			}
			return []byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), false
		}},
		{"close-delimited", func(i int64) ([]byte, bool) {
			return []byte("HTTP/1.0 200 OK\r\n\r\nbody until the close"), true
		}},
	} {
		for _, rate := range []float64{0, 3000} {
			s := serve(t, len(p.Request(true)), c.reply)
			const n = 300
			res := run(t, workloads.Config{Workload: "pooled", Target: s.addr(), Protocol: p, Concurrency: 3, Requests: n, Rate: rate})
			checkClean(t, res, n, "2xx")
			// Closed loop reconnects only for a transaction it claimed; an
			// open-loop pool reconnects at once, and a reconnect still in
			// its handshake when the run ends is not counted (at most one
			// per pool connection).
			acc, slack := s.accepted.Load(), int64(0)
			if rate > 0 {
				slack = 3
			}
			if res.Connections <= 3 || acc < res.Connections || acc > res.Connections+slack {
				t.Errorf("%s, rate %g: %d connections, server accepted %d; want reconnects, counted alike (+%d)",
					c.name, rate, res.Connections, acc, slack)
			}
		}
	}
}

// TestProtocolFailures: what is malformed fails as "protocol", what is cut
// short as "eof"; neither stops the run.
func TestProtocolFailures(t *testing.T) {
	for _, c := range []struct {
		proto, resp string
		closeAfter  bool
		class       string
	}{
		{"http", "HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\n", false, protocol.FailProtocol},
		{"http", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxTRAILING", false, protocol.FailProtocol},
		{"http", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, dialer.FailEOF},
		{"redis", "?what\r\n", false, protocol.FailProtocol},
		{"redis", "$10\r\nshort", true, dialer.FailEOF},
		{"memcached", "VALUE k 0 x\r\n", false, protocol.FailProtocol},
	} {
		p := newProto(t, c.proto, protocol.Options{})
		s := serve(t, len(p.Request(false)), func(int64) ([]byte, bool) { return []byte(c.resp), c.closeAfter })
		res := run(t, workloads.Config{Workload: "per-request", Target: s.addr(), Protocol: p, Concurrency: 2, Requests: 50})
		if res.Transactions != 0 || res.Failures[c.class] != 50 {
			t.Errorf("%s %q: %d transactions, failures %v; want 50 %s failures", c.proto, c.resp, res.Transactions, res.Failures, c.class)
		}
	}
}

// TestErrorReplies: redis and memcached error replies complete the
// transaction with status "error".
func TestErrorReplies(t *testing.T) {
	for _, c := range []struct{ proto, resp string }{
		{"redis", "-ERR unknown command 'FOO'\r\n"},
		{"memcached", "ERROR\r\n"},
	} {
		p := newProto(t, c.proto, protocol.Options{Command: "FOO"})
		s := serve(t, len(p.Request(true)), func(int64) ([]byte, bool) { return []byte(c.resp), false })
		res := run(t, workloads.Config{Workload: "pooled", Target: s.addr(), Protocol: p, Concurrency: 2, Requests: 100})
		checkClean(t, res, 100, "error")
	}
}

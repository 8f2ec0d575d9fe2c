package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/results"
)

// idleCloser is an echo server on 127.0.0.1:0 that closes a connection
// once it has been idle for idle, as HTTP servers and proxies do with
// keep-alive connections.
type idleCloser struct {
	ln         net.Listener
	wg         sync.WaitGroup
	accepts    atomic.Int64
	idleCloses atomic.Int64
	echoed     atomic.Int64
}

func startIdleCloser(t *testing.T, idle time.Duration) *idleCloser {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &idleCloser{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					c.SetReadDeadline(time.Now().Add(idle))
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
						s.echoed.Add(int64(n))
					}
					if errors.Is(err, os.ErrDeadlineExceeded) {
						s.idleCloses.Add(1)
						return
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// TestPooledOpenLoopServerClosesIdle: an open-loop pooled run against a
// server that closes connections idle for 20 ms. A pool connection waiting
// for its next scheduled transaction (every 100 ms or so per connection
// here) is closed by the server between transactions: the client must
// notice, close it and connect a replacement, so that every transaction
// completes. Were the closed connection left in the pool, the next
// transaction on it would fail with EPIPE or ECONNRESET, and so would
// every later one on that slot.
func TestPooledOpenLoopServerClosesIdle(t *testing.T) {
	const (
		conns = 2
		n     = 40
	)
	srv := startIdleCloser(t, 20*time.Millisecond)
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := connbench(t, "run", "-w", "pooled", "-c", strconv.Itoa(conns), "--rate", "20", "-n", strconv.Itoa(n), "--quiet", "-o", out, srv.ln.Addr().String())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := doc.Runs[0]
	// A request that meets the server's idle close on the wire (the server
	// decided to close a microsecond before it arrived) fails as a reset or
	// a short read: that race is the server's doing and counted as such,
	// but at 100 ms between transactions and a 20 ms idle timeout it is
	// rare; one in ten would mean the pool hands out closed connections.
	for class, k := range r.Failures {
		if class != dialer.FailReset && class != dialer.FailEOF && class != dialer.FailPipe {
			t.Errorf("%d failures of class %s: a server's idle close can cause only %s, %s or %s", k, class, dialer.FailReset, dialer.FailEOF, dialer.FailPipe)
		}
	}
	if r.FailuresTotal > n/10 {
		t.Errorf("%d of %d transactions failed (%v): closed pool connections were not replaced", r.FailuresTotal, n, r.Failures)
	}
	if got := r.Counts.Transactions + r.FailuresTotal; got != n {
		t.Errorf("%d transactions and %d failures, want %d attempted", r.Counts.Transactions, r.FailuresTotal, n)
	}
	// What crossed the wire: every completed transaction echoed its byte,
	// and the server accepted the replacements as well as the pool.
	if e := srv.echoed.Load(); e < r.Counts.Transactions {
		t.Errorf("server echoed %d bytes for %d completed transactions", e, r.Counts.Transactions)
	}
	if a, ic := srv.accepts.Load(), srv.idleCloses.Load(); a <= conns || ic == 0 {
		t.Errorf("server accepted %d connections and closed %d idle; want more than -c %d and some idle closes", a, ic, conns)
	}
	if r.Counts.Connections <= conns {
		t.Errorf("the client counted %d connections, want the replacements too (more than -c %d)", r.Counts.Connections, conns)
	}
	t.Logf("server: %d accepts, %d idle closes; client: %d transactions, %d connections, failures %v",
		srv.accepts.Load(), srv.idleCloses.Load(), r.Counts.Transactions, r.Counts.Connections, r.Failures)
}

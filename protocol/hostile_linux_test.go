package protocol_test

// A server written to misbehave, against the real client path
// (workloads.Run): every fifth request gets a hostile answer, the others a
// good one. Each hostile answer must be one failure of its own class, and
// the good ones after it must still complete: the run goes on.

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/workloads"
)

// hostile is a server whose connections read reqLen-byte requests and
// answer the i-th (over all connections) with answer(i, conn); answer
// returns false to end the connection.
type hostile struct {
	ln       net.Listener
	accepted atomic.Int64
	requests atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func serveHostile(t *testing.T, reqLen int, answer func(i int64, c net.Conn) bool) *hostile {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{ln: ln, conns: map[net.Conn]bool{}}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			h.mu.Lock()
			h.conns[c] = true
			h.mu.Unlock()
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				defer func() {
					h.mu.Lock()
					delete(h.conns, c)
					h.mu.Unlock()
					c.Close()
				}()
				r := bufio.NewReader(c)
				buf := make([]byte, reqLen)
				for {
					if _, err := io.ReadFull(r, buf); err != nil {
						return
					}
					if !answer(h.requests.Add(1)-1, c) {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		for c := range h.conns {
			c.Close() // a handler still writing an endless answer
		}
		h.mu.Unlock()
		h.wg.Wait()
	})
	return h
}

func (h *hostile) addr() netip.AddrPort { return netip.MustParseAddrPort(h.ln.Addr().String()) }

// forever writes head, then piece after piece until the client goes away
// (or 256 MiB have gone, so that a client that never gives up cannot keep
// the test running).
func forever(c net.Conn, head string, piece []byte) bool {
	if _, err := c.Write([]byte(head)); err != nil {
		return false
	}
	for sent := 0; sent < 256<<20; sent += len(piece) {
		if _, err := c.Write(piece); err != nil {
			return false
		}
	}
	return false
}

// TestHostileServers: each misbehaviour of the issue, one failure of its
// class per hostile answer, every good answer a completed transaction.
func TestHostileServers(t *testing.T) {
	// Endless answers reach the bound in a few reads.
	defer protocol.SetMaxResponse(1 << 20)()
	good := map[string]string{
		"http":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"redis":     "+PONG\r\n",
		"memcached": "VERSION 1.6\r\n",
	}
	chunk := []byte("1000\r\n" + strings.Repeat("x", 0x1000) + "\r\n")
	// write answers with fixed bytes and keeps the connection.
	write := func(s string) func(net.Conn) bool {
		return func(c net.Conn) bool { _, err := c.Write([]byte(s)); return err == nil }
	}
	cases := []struct {
		name, proto string
		answer      func(net.Conn) bool
		class       string
	}{
		{"Content-Length 2^63", "http", write("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n"), protocol.FailTooLarge},
		{"chunk size that overflows", "http", write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"), protocol.FailTooLarge},
		{"endless header line", "http", func(c net.Conn) bool {
			return forever(c, "HTTP/1.1 200 OK\r\nX-Endless: ", bytes.Repeat([]byte("h"), 16<<10))
		}, protocol.FailTooLarge},
		{"endless chunks", "http", func(c net.Conn) bool {
			return forever(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunk)
		}, protocol.FailTooLarge},
		{"endless body to a close", "http", func(c net.Conn) bool {
			return forever(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", bytes.Repeat([]byte("b"), 16<<10))
		}, protocol.FailTooLarge},
		{"redis bulk length 2^62", "redis", write("$4611686018427387904\r\n"), protocol.FailTooLarge},
		{"redis endless bulk", "redis", func(c net.Conn) bool {
			return forever(c, "$1073741824\r\n", bytes.Repeat([]byte("r"), 16<<10))
		}, protocol.FailTooLarge},
		{"memcached VALUE of 2^63 bytes", "memcached", write("VALUE k 0 9223372036854775808\r\n"), protocol.FailTooLarge},
		{"memcached endless STAT lines", "memcached", func(c net.Conn) bool {
			return forever(c, "", bytes.Repeat([]byte("STAT x 1\r\n"), 1000))
		}, protocol.FailTooLarge},
		{"response that never ends", "http", func(c net.Conn) bool {
			// Part of the body, then nothing: wait for the client to
			// give up and close.
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"))
			io.Copy(io.Discard, c)
			return false
		}, dialer.FailResponseTimeout},
		{"redis reply that never ends", "redis", func(c net.Conn) bool {
			c.Write([]byte("*3\r\n+one\r\n"))
			io.Copy(io.Discard, c)
			return false
		}, dialer.FailResponseTimeout},
		{"reset mid-response", "http", func(c net.Conn) bool {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"))
			c.(*net.TCPConn).SetLinger(0) // close sends RST
			return false
		}, dialer.FailReset},
		{"bytes after the response", "http", write(good["http"] + "EXTRA"), protocol.FailProtocol},
		{"a second response after the response", "redis", write("+PONG\r\n+PONG\r\n"), protocol.FailProtocol},
	}
	runs := []struct {
		workload string
		rate     float64
	}{{"pooled", 0}, {"per-request", 0}, {"pooled", 2000}}
	for _, c := range cases {
		for _, r := range runs {
			t.Run(c.name+"/"+r.workload+"/rate="+strconv.FormatFloat(r.rate, 'g', -1, 64), func(t *testing.T) {
				var o protocol.Options
				if c.proto == "http" {
					o.Host = "x"
				}
				p := newProto(t, c.proto, o)
				keep := r.workload == "pooled"
				h := serveHostile(t, len(p.Request(keep)), func(i int64, conn net.Conn) bool {
					if i%5 == 4 {
						return c.answer(conn)
					}
					_, err := conn.Write([]byte(good[c.proto]))
					return err == nil
				})
				const n = 20
				cfg := workloads.Config{Workload: r.workload, Target: h.addr(), Protocol: p, Concurrency: 2, Requests: n, Loops: 1, Rate: r.rate}
				if r.rate > 0 {
					cfg.MaxInflight = 4
				}
				cfg.Timeouts = dialer.Timeouts{Connect: 5 * time.Second, Response: 5 * time.Second}
				if c.class == dialer.FailResponseTimeout {
					cfg.Timeouts.Response = 300 * time.Millisecond
				}
				res := run(t, cfg)
				const bad = n / 5
				if res.Failures[c.class] != bad || res.FailuresTotal() != bad || res.Transactions != n-bad {
					t.Errorf("%d transactions, failures %v; want %d and %d %s", res.Transactions, res.Failures, n-bad, bad, c.class)
				}
				// Each failure closed its connection; the run went on over
				// new ones (the last failure's may not be needed).
				if res.Connections < bad || h.accepted.Load() < bad || h.requests.Load() != n {
					t.Errorf("%d connections, server accepted %d, served %d requests; want at least %d, %d and %d",
						res.Connections, h.accepted.Load(), h.requests.Load(), bad, bad, n)
				}
			})
		}
	}
}

// TestLateBytesOnPooledConnection: bytes a server sends after the
// response, in a write of their own, are seen by the next transaction on
// that connection as the start of its response: a protocol failure, not a
// response taken for the next request's.
func TestLateBytesOnPooledConnection(t *testing.T) {
	p := newProto(t, "http", protocol.Options{Host: "x"})
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	h := serveHostile(t, len(p.Request(true)), func(i int64, c net.Conn) bool {
		if _, err := c.Write(resp); err != nil {
			return false
		}
		if i%5 == 4 {
			_, err := c.Write([]byte("LATE"))
			return err == nil
		}
		return true
	})
	const n = 40
	res := run(t, workloads.Config{Workload: "pooled", Target: h.addr(), Protocol: p, Concurrency: 1, Requests: n, Loops: 1})
	// One connection: each late write fails the next transaction (or the
	// same one, when it arrives in the same read), never silently; the
	// last may come after the run ends.
	if f := res.Failures[protocol.FailProtocol]; f < n/5-1 || f > n/5 || res.FailuresTotal() != f || res.Transactions+f != n {
		t.Errorf("%d transactions, failures %v; want %d or %d protocol failures and the rest completed", res.Transactions, res.Failures, n/5-1, n/5)
	}
}

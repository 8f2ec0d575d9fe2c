package listener

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/tlsconf"
)

func startTLSListener(t *testing.T, mode Mode, noTickets bool) (*Listener, *tls.Config) {
	t.Helper()
	srv, err := (&tlsconf.Server{On: true, NoTickets: noTickets}).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Start(Config{Mode: mode, RequestSize: 4, ResponseSize: 100, TLS: srv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cli := &tls.Config{ServerName: "connbench.test", RootCAs: tlsconf.Roots(srv), ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	return ln, cli
}

func waitStats(t *testing.T, ln *Listener, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := ln.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener stats never got there: %+v", s)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestTLSRespondAndResume(t *testing.T) {
	for _, noTickets := range []bool{false, true} {
		ln, cli := startTLSListener(t, Respond, noTickets)
		for i := 0; i < 3; i++ {
			c, err := tls.Dial("tcp", ln.Addr().String(), cli)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for j := 0; j < 2; j++ {
				if _, err := c.Write([]byte("abcd")); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 100)
				if _, err := io.ReadFull(c, b); err != nil || strings.Trim(string(b), "x") != "" {
					t.Fatalf("response %q, %v", b, err)
				}
			}
			c.Close()
		}
		s := waitStats(t, ln, func(s Stats) bool { return s.Closed == 3 })
		want := int64(2) // the first handshake is full, then tickets
		if noTickets {
			want = 0
		}
		if s.TLSHandshakes != 3 || s.TLSResumed != want || s.Requests != 6 || s.BytesReceived != 24 || s.BytesSent != 600 || s.TLSHandshakeCPU <= 0 || s.CPUUser+s.CPUSys <= 0 {
			t.Errorf("tickets off=%v: stats %+v", noTickets, s)
		}
		ln.Close()
	}
}

func TestTLSHTTPAndHostilePeers(t *testing.T) {
	ln, cli := startTLSListener(t, HTTP, false)
	c, err := tls.Dial("tcp", ln.Addr().String(), cli)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Two pipelined requests, the second asking to close.
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil || strings.Count(string(b), "HTTP/1.1 200 OK") != 2 || !strings.Contains(string(b), "Connection: close") {
		t.Fatalf("responses %q, %v", b, err)
	}
	// A head past 16 KiB: 431, then the close.
	c2, err := tls.Dial("tcp", ln.Addr().String(), cli)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c2, "GET / HTTP/1.1\r\nX: "+strings.Repeat("a", 20<<10))
	b, _ = io.ReadAll(c2)
	if !strings.HasPrefix(string(b), "HTTP/1.1 431") {
		t.Errorf("long head: %q", b)
	}
	// Not TLS at all: the handshake fails and is counted.
	p, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	p.SetDeadline(time.Now().Add(10 * time.Second))
	io.ReadAll(p)
	p.Close()
	s := waitStats(t, ln, func(s Stats) bool { return s.Closed == 3 })
	if s.TLSFailed != 1 || s.TLSHandshakes != 2 || s.Requests != 3 || s.Open != 0 {
		t.Errorf("stats %+v", s)
	}
	// The event loops' knobs are refused over TLS.
	srv, _ := (&tlsconf.Server{On: true}).ServerConfig()
	if _, err := Start(Config{TLS: srv, AcceptDelay: time.Millisecond}); err == nil {
		t.Error("AcceptDelay over TLS: no error")
	}
}

package workloads

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/tlsconf"
)

// tlsPair starts the built-in listener serving TLS (srv's settings, mode
// m) and returns it with the client's TLS for it (c's settings).
func tlsPair(t *testing.T, srv tlsconf.Server, m listener.Mode, c tlsconf.Client) (*listener.Listener, *portSet, *TLSConfig) {
	t.Helper()
	srv.On = true
	scfg, err := srv.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, ps := startListener(t, listener.Config{Mode: m, TLS: scfg})
	c.On = true
	if c.SNI == "" {
		c.SNI = "connbench.test"
	}
	ccfg, err := c.ClientConfig(tlsconf.Roots(scfg))
	if err != nil {
		t.Fatal(err)
	}
	return ln, ps, &TLSConfig{Client: c, Config: ccfg}
}

func TestTLSPerRequestAndResumption(t *testing.T) {
	checkFD(t)
	for _, v := range []string{"1.2", "1.3"} {
		for _, resume := range []string{"off", "tickets"} {
			ln, ps, tc := tlsPair(t, tlsconf.Server{}, listener.Respond, tlsconf.Client{Version: v, Resume: resume})
			const n = 60
			res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: n, TLS: tc})
			if res.Transactions != n || res.FailuresTotal() != 0 {
				t.Fatalf("%s %s: %d transactions, failures %v", v, resume, res.Transactions, res.Failures)
			}
			st := res.TLS
			if st == nil || st.Handshakes != n || st.Versions[v] != n || res.Connections != n || ps.len() != n {
				t.Fatalf("%s %s: TLS %+v, %d connections, listener saw %d", v, resume, st, res.Connections, ps.len())
			}
			waitFor(t, "the listener's handshakes", func() bool { return ln.Stats().TLSHandshakes == n })
			ls := ln.Stats()
			switch resume {
			case "off":
				if st.Resumed != 0 || ls.TLSResumed != 0 {
					t.Errorf("%s off: %d resumed (listener %d)", v, st.Resumed, ls.TLSResumed)
				}
			case "tickets":
				// Each slot's first handshake is full; then sessions resume.
				if st.Resumed < n/2 || st.Resumed != ls.TLSResumed {
					t.Errorf("%s tickets: %d of %d resumed (listener %d)", v, st.Resumed, n, ls.TLSResumed)
				}
				if res.Phases[PhaseTLSResumed].Count() != st.Resumed || res.Phases[PhaseTLSFull].Count() != n-st.Resumed {
					t.Errorf("%s tickets: full/resumed phases %d/%d", v, res.Phases[PhaseTLSFull].Count(), res.Phases[PhaseTLSResumed].Count())
				}
			}
			for _, ph := range []string{PhaseHandshake, PhaseTLSHandshake, PhaseFirstByte, PhaseTransaction, PhaseConnectFirstByte} {
				if res.Phases[ph] == nil || res.Phases[ph].Count() != n {
					t.Errorf("%s %s: phase %s missing or short", v, resume, ph)
				}
			}
			if st.CPUHandshake <= 0 || ls.TLSHandshakeCPU <= 0 || st.BytesOut == 0 || st.BytesIn == 0 {
				t.Errorf("%s %s: CPU client %v listener %v, bytes %d/%d", v, resume, st.CPUHandshake, ls.TLSHandshakeCPU, st.BytesOut, st.BytesIn)
			}
			// The request and response crossed inside TLS, byte for byte.
			if res.BytesSent != n || ls.BytesReceived != n || ls.Requests != n {
				t.Errorf("%s %s: sent %d, listener got %d bytes and %d requests", v, resume, res.BytesSent, ls.BytesReceived, ls.Requests)
			}
			ln.Close()
		}
	}
}

func TestTLSPooledHTTPAndConnect(t *testing.T) {
	checkFD(t)
	ln, _, tc := tlsPair(t, tlsconf.Server{Cert: "ed25519"}, listener.HTTP, tlsconf.Client{ALPN: []string{"http/1.1"}})
	p, err := protocol.New("http", protocol.Options{Target: ln.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 3, Requests: 300, Protocol: p, TLS: tc})
	if res.Transactions != 300 || res.Statuses["2xx"] != 300 || res.Connections != 3 || res.TLS.Handshakes != 3 || res.TLS.ALPN["http/1.1"] != 3 {
		t.Fatalf("pooled http: %d transactions, statuses %v, %d connections, TLS %+v, failures %v", res.Transactions, res.Statuses, res.Connections, res.TLS, res.Failures)
	}
	res = run(t, Config{Workload: "connect", Target: ln.Addr(), Concurrency: 2, Requests: 40, TLS: tc})
	if res.Transactions != 40 || res.TLS.Handshakes != 40 || res.Phases[PhaseFirstByte] != nil {
		t.Fatalf("connect: %d transactions, %d handshakes, failures %v", res.Transactions, res.TLS.Handshakes, res.Failures)
	}
}

func TestTLSFailureClasses(t *testing.T) {
	checkFD(t)
	// The client wants 1.2; the listener serves 1.3 only.
	ln, _, tc := tlsPair(t, tlsconf.Server{Version: "1.3"}, listener.Respond, tlsconf.Client{Version: "1.2"})
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 1, Requests: 5, TLS: tc})
	if res.Failures[tlsconf.FailVersion] != 5 {
		t.Errorf("version: failures %v, want 5 %s", res.Failures, tlsconf.FailVersion)
	}
	// A name the certificate does not hold.
	ln, _, tc = tlsPair(t, tlsconf.Server{}, listener.Respond, tlsconf.Client{SNI: "other.example"})
	res = run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 1, Requests: 5, TLS: tc})
	if res.Failures[tlsconf.FailCertificate] != 5 {
		t.Errorf("certificate: failures %v", res.Failures)
	}
	// A server that accepts and never answers the ClientHello.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-acceptDone
		close(held)
		for c := range held {
			c.Close()
		}
	})
	target := l.Addr().(*net.TCPAddr).AddrPort()
	res = run(t, Config{Workload: "per-request", Target: target, Concurrency: 2, Requests: 4, TLS: tc,
		Timeouts: dialer.Timeouts{Connect: 100 * time.Millisecond}})
	if res.Failures[tlsconf.FailTimeout] != 4 {
		t.Errorf("silent server: failures %v, want 4 %s", res.Failures, tlsconf.FailTimeout)
	}
}

// TestTLSPlainPath runs plain TCP through the TLS path: the same exchange
// as the engine's, byte for byte.
func TestTLSPlainPath(t *testing.T) {
	checkFD(t)
	ln, ps := startListener(t, listener.Config{RequestSize: 10, ResponseSize: 1000})
	tc := &TLSConfig{Client: tlsconf.Client{Plain: true}}
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: 50, RequestSize: 10, ResponseSize: 1000, TLS: tc})
	if res.Transactions != 50 || res.BytesReceived != 50*1000 || ps.len() != 50 || res.Phases[PhaseTLSHandshake] != nil || res.TLS.Handshakes != 0 {
		t.Fatalf("plain: %d transactions, %d bytes, %d connections seen, failures %v", res.Transactions, res.BytesReceived, ps.len(), res.Failures)
	}
	// An open loop through it, for a duration: it ends on time.
	start := time.Now()
	res, err := Run(context.Background(), Config{Workload: "per-request", Target: ln.Addr(), Rate: 200, Duration: 300 * time.Millisecond,
		MaxInflight: 8, RequestSize: 10, ResponseSize: 1000, TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second || res.Transactions < 10 || res.Phases[PhaseScheduled] == nil {
		t.Errorf("open loop: %d transactions in %v", res.Transactions, took)
	}
	if _, err := Run(context.Background(), Config{Workload: "backlog", Target: ln.Addr(), Requests: 1, Rate: 1, Duration: time.Second, TLS: tc}); err == nil || !strings.Contains(err.Error(), "not supported over TLS") {
		t.Errorf("backlog over the TLS path: %v, want refused", err)
	}
}

// TestTLSPoolReuse: the pool's reuse limits over TLS, and a pooled
// connection the listener closed for idleness retried once on a new one.
func TestTLSPoolReuse(t *testing.T) {
	checkFD(t)
	ln, _, tc := tlsPair(t, tlsconf.Server{}, listener.Respond, tlsconf.Client{Resume: "tickets"})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Requests: 100, RequestsPerConn: 10, TLS: tc})
	// ceil(transactions/10) per slot: 10 to 11 connections over 2 slots,
	// each recycled but the ones still open at the end.
	if res.Transactions != 100 || res.Connections < 10 || res.Connections > 11 || res.Recycled < res.Connections-2 ||
		res.TLS.Handshakes != res.Connections || res.TLS.Resumed < res.Connections-2 {
		t.Fatalf("requests-per-conn 10: %d transactions, %d connections, %d recycled, TLS %+v, failures %v",
			res.Transactions, res.Connections, res.Recycled, res.TLS, res.Failures)
	}
	scfg, _ := (&tlsconf.Server{On: true}).ServerConfig()
	idle, _ := startListener(t, listener.Config{TLS: scfg, IdleClose: 20 * time.Millisecond})
	cl := tlsconf.Client{On: true, SNI: "connbench.test"}
	ccfg, _ := cl.ClientConfig(tlsconf.Roots(scfg))
	res, err := Run(context.Background(), Config{Workload: "pooled", Target: idle.Addr(), Concurrency: 1, Rate: 10, Duration: 500 * time.Millisecond,
		TLS: &TLSConfig{Client: cl, Config: ccfg}})
	if err != nil {
		t.Fatal(err)
	}
	if res.FailuresTotal() != 0 || res.Retried == 0 || res.Retried != res.ServerClosed {
		t.Errorf("idle-closed pool: %d transactions, %d retried, %d server-closed, failures %v", res.Transactions, res.Retried, res.ServerClosed, res.Failures)
	}
	waitFor(t, "the idle closes", func() bool { return idle.Stats().IdleClosed >= res.Retried })
}

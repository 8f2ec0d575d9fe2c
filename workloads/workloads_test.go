package workloads

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/protocol"
	"golang.org/x/sys/unix"
)

// portSet records the distinct client ports the listener saw.
type portSet struct {
	mu    sync.Mutex
	ports map[netip.AddrPort]bool
}

func (p *portSet) add(a netip.AddrPort) {
	p.mu.Lock()
	p.ports[a] = true
	p.mu.Unlock()
}

func (p *portSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ports)
}

func startListener(t *testing.T, cfg listener.Config) (*listener.Listener, *portSet) {
	t.Helper()
	ps := &portSet{ports: map[netip.AddrPort]bool{}}
	if cfg.OnAccept == nil {
		cfg.OnAccept = ps.add
	}
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	ln, err := listener.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ps
}

// waitFor polls cond until it holds or the deadline passes; it is how
// tests wait for the listener's side of what the client already finished.
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

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkFD(t *testing.T) {
	t.Helper()
	// The Go runtime opens its own epoll set and eventfd (the netpoller)
	// the first time the process needs it, for a timer or a pollable file,
	// which may be in this test (a waitFor that has to wait): make it open
	// them now (a pipe is pollable), so that they are in the count before
	// as well as after.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	count := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents)
	}
	before, goroutines := count(), runtime.NumGoroutine()
	t.Cleanup(func() {
		if after := count(); after != before {
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, e := range ents {
				l, _ := os.Readlink("/proc/self/fd/" + e.Name())
				t.Log(e.Name(), l)
			}
			t.Errorf("descriptors: %d before, %d after", before, after)
		}
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if g := runtime.NumGoroutine(); g > goroutines {
			t.Errorf("goroutines: %d before, %d after", goroutines, g)
		}
	})
}

func TestPerRequestOpensOneConnectionPerTransaction(t *testing.T) {
	const n = 300
	checkFD(t)
	ln, ports := startListener(t, listener.Config{RequestSize: 10, ResponseSize: 100})
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 4, Requests: n,
		RequestSize: 10, ResponseSize: 100, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != n || res.Connections != n || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, connections %d, failures %v; want %d, %d, none", res.Transactions, res.Connections, res.Failures, n, n)
	}
	// The listener counts after write() returns, which can be after the
	// client has read the bytes.
	waitFor(t, "listener to count every connection and byte", func() bool {
		st := ln.Stats()
		return ports.len() == n && st.BytesSent == res.BytesReceived
	})
	st := ln.Stats()
	if st.Accepted != n || st.Requests != n {
		t.Errorf("listener accepted %d, answered %d; want %d", st.Accepted, st.Requests, n)
	}
	if res.BytesSent != 10*n || st.BytesReceived != res.BytesSent {
		t.Errorf("client sent %d, listener received %d; want %d", res.BytesSent, st.BytesReceived, 10*n)
	}
	if res.BytesReceived != 100*n || st.BytesSent != res.BytesReceived {
		t.Errorf("client received %d, listener sent %d; want %d", res.BytesReceived, st.BytesSent, 100*n)
	}
	for _, ph := range []string{PhaseHandshake, PhaseFirstByte, PhaseResponse, PhaseTransaction} {
		if c := res.Phases[ph].Count(); c != n {
			t.Errorf("phase %s recorded %d values, want %d", ph, c, n)
		}
	}
	if res.Phases[PhaseHandshake].ValueAt(50) <= 0 || res.Phases[PhaseTransaction].ValueAt(50) < res.Phases[PhaseHandshake].ValueAt(50) {
		t.Errorf("transaction p50 %d below handshake p50 %d", res.Phases[PhaseTransaction].ValueAt(50), res.Phases[PhaseHandshake].ValueAt(50))
	}
}

func TestPooledOpensExactlyConcurrencyConnections(t *testing.T) {
	const n, c = 2000, 5
	checkFD(t)
	ln, ports := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: c, Requests: n, Loops: 2})
	if res.Transactions != n || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
	}
	if res.Connections != c || res.Phases[PhaseHandshake].Count() != c {
		t.Errorf("connections %d, handshakes %d; want %d", res.Connections, res.Phases[PhaseHandshake].Count(), c)
	}
	waitFor(t, "listener to count every byte", func() bool { return ln.Stats().BytesSent == n })
	if ports.len() != c || ln.Stats().Accepted != c {
		t.Errorf("listener saw %d ports, accepted %d; want %d", ports.len(), ln.Stats().Accepted, c)
	}
	if st := ln.Stats(); st.Requests != n || st.BytesReceived != n {
		t.Errorf("listener answered %d requests, received %d bytes; want %d", st.Requests, st.BytesReceived, n)
	}
}

func TestConnectSendsNoData(t *testing.T) {
	const n = 200
	ln, ports := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "connect", Target: ln.Addr(), Concurrency: 3, Requests: n, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != n || res.Connections != n || res.BytesSent != 0 || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, connections %d, bytes %d, failures %v", res.Transactions, res.Connections, res.BytesSent, res.Failures)
	}
	if _, ok := res.Phases[PhaseFirstByte]; ok {
		t.Error("connect workload reports a first-byte phase")
	}
	waitFor(t, "listener to accept every connection", func() bool { return ports.len() == n })
	if st := ln.Stats(); st.BytesReceived != 0 || st.Requests != 0 {
		t.Errorf("listener received %d bytes, %d requests; want none", st.BytesReceived, st.Requests)
	}
}

func TestClosedPortCountsRefused(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	checkFD(t)
	res := run(t, Config{Workload: "per-request", Target: target, Concurrency: 2, Requests: 50})
	if res.Failures[dialer.FailRefused] != 50 || res.Transactions != 0 || res.Connections != 0 {
		t.Fatalf("failures %v, transactions %d; want 50 ECONNREFUSED and nothing else", res.Failures, res.Transactions)
	}
}

// timeWaits counts client-side TIME_WAIT sockets toward target.
func timeWaits(t *testing.T, target netip.AddrPort) int {
	s, err := kernel.NewSampler()
	if err != nil {
		t.Skipf("no sock_diag: %v", err)
	}
	defer s.Close()
	smp, err := s.Sample(kernel.Filter{Remote: target, States: kernel.MaskOf(kernel.StateTimeWait)})
	if err != nil {
		t.Fatal(err)
	}
	return smp.States[kernel.StateTimeWait]
}

func TestCloseModes(t *testing.T) {
	const n = 100
	for _, mode := range []dialer.CloseMode{dialer.CloseRST, dialer.CloseFIN} {
		t.Run(mode.String(), func(t *testing.T) {
			ln, _ := startListener(t, listener.Config{})
			res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: n, Socket: dialer.Options{Close: mode}})
			if res.Transactions != n {
				t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
			}
			if mode == dialer.CloseRST {
				if tw := timeWaits(t, ln.Addr()); tw != 0 {
					t.Errorf("--close rst left %d TIME_WAIT sockets", tw)
				}
				waitFor(t, "listener to see the resets", func() bool { return ln.Stats().Closed == n })
				return
			}
			// The client closed first: the client end holds TIME_WAIT
			// once the listener's FIN arrives.
			waitFor(t, "TIME_WAIT on the client side", func() bool { return timeWaits(t, ln.Addr()) == n })
		})
	}
}

func TestResponseTimeout(t *testing.T) {
	ln, _ := startListener(t, listener.Config{Mode: listener.Discard})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Requests: 4,
		Timeouts: dialer.Timeouts{Response: 50 * time.Millisecond}})
	if res.Failures[dialer.FailResponseTimeout] != 4 || res.Transactions != 0 {
		t.Fatalf("failures %v, transactions %d; want 4 response timeouts", res.Failures, res.Transactions)
	}
}

// TestConnectTimeout fills a listener's accept queue and never accepts, so
// that the kernel drops further SYNs and the handshake hangs.
func TestConnectTimeout(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sa.(*unix.SockaddrInet4).Port))
	// Fill the queue (backlog 0 admits one connection).
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		if c, err := net.DialTimeout("tcp", target.String(), 200*time.Millisecond); err == nil {
			held = append(held, c)
		}
	}
	res := run(t, Config{Workload: "connect", Target: target, Concurrency: 2, Requests: 2,
		Timeouts: dialer.Timeouts{Connect: 100 * time.Millisecond}})
	if res.Failures[dialer.FailConnectTimeout] != 2 {
		t.Fatalf("failures %v, transactions %d; want 2 connect timeouts", res.Failures, res.Transactions)
	}
}

func TestWarmupIsNotRecorded(t *testing.T) {
	ln, ports := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: 20,
		Warmup: 100 * time.Millisecond, Socket: dialer.Options{Close: dialer.CloseRST}})
	if res.Transactions != 20 {
		t.Fatalf("transactions %d, want 20", res.Transactions)
	}
	waitFor(t, "listener", func() bool { return ports.len() >= 20 })
	if ports.len() <= 20 {
		t.Errorf("listener saw %d connections: the warm-up made none, or they were counted", ports.len())
	}
	if res.Phases[PhaseHandshake].Count() != 20 {
		t.Errorf("handshakes recorded %d, want 20", res.Phases[PhaseHandshake].Count())
	}
}

func TestDurationAndCancel(t *testing.T) {
	ln, _ := startListener(t, listener.Config{})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Duration: 200 * time.Millisecond})
	if res.Partial || res.Transactions == 0 || res.Elapsed != 200*time.Millisecond {
		t.Errorf("duration run: partial %v, transactions %d, elapsed %v", res.Partial, res.Transactions, res.Elapsed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Duration: time.Hour})
	if err != nil || !res.Partial {
		t.Errorf("cancelled run: err %v, partial %v", err, res != nil && res.Partial)
	}
}

func TestSourceRotation(t *testing.T) {
	ln, ports := startListener(t, listener.Config{})
	srcs, _ := dialer.ParseSources("127.0.0.2-127.0.0.5")
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: 2, Requests: 40,
		Socket: dialer.Options{Sources: srcs, Close: dialer.CloseRST}})
	if res.Transactions != 40 {
		t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
	}
	waitFor(t, "listener", func() bool { return ports.len() == 40 })
	seen := map[netip.Addr]int{}
	ports.mu.Lock()
	for p := range ports.ports {
		seen[p.Addr()]++
	}
	ports.mu.Unlock()
	if len(seen) != 4 {
		t.Errorf("connections came from %v, want 127.0.0.2-5 each", seen)
	}
}

func TestNormalizeRejects(t *testing.T) {
	target := netip.MustParseAddrPort("127.0.0.1:9")
	for name, c := range map[string]Config{
		"unknown workload": {Workload: "x", Target: target, Requests: 1},
		"no target":        {Requests: 1},
		"no length":        {Target: target},
		"negative c":       {Target: target, Requests: 1, Concurrency: -1},
	} {
		if err := c.Normalize(2); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// With --close rst a slot's next connection reuses its last socket, reset
// with connect(AF_UNSPEC): the listener must still see a new connection
// (a new port) and an RST for every one, and --new-socket must give each
// connection a socket of its own.
func TestResetSocketsAreReused(t *testing.T) {
	const n, c = 300, 3
	for _, tc := range []struct {
		name      string
		workload  string
		newSocket bool
		perConn   int64
		want      int64
	}{
		{"per-request", "per-request", false, 0, n - c},
		{"per-request new-socket", "per-request", true, 0, 0},
		{"connect", "connect", false, 0, n - c},
		{"pooled, one request per connection", "pooled", false, 1, n - c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFD(t)
			ln, ports := startListener(t, listener.Config{})
			res := run(t, Config{Workload: tc.workload, Target: ln.Addr(), Concurrency: c, Loops: 1, Requests: n,
				RequestsPerConn: tc.perConn, Socket: dialer.Options{Close: dialer.CloseRST, NewSocket: tc.newSocket}})
			if res.Transactions != n || res.FailuresTotal() != 0 {
				t.Fatalf("transactions %d, failures %v; want %d, none", res.Transactions, res.Failures, n)
			}
			if res.SocketsReused != tc.want {
				t.Errorf("sockets reused %d, want %d", res.SocketsReused, tc.want)
			}
			waitFor(t, "listener to see every connection reset", func() bool { return ln.Stats().Resets >= n })
			if st := ln.Stats(); st.Accepted != n || ports.len() != n {
				t.Errorf("listener accepted %d from %d ports; want %d new connections", st.Accepted, ports.len(), n)
			}
			if tw := timeWaits(t, ln.Addr()); tw != 0 {
				t.Errorf("%d TIME_WAIT sockets left", tw)
			}
		})
	}
}

// With --close fin a socket is reused when the server closed first (HTTP
// with Connection: close): shutdown sends the FIN, the server's ACK leaves
// the socket closed and it connects again. The server sees what close()
// would have shown it: a FIN, never a reset, from a new port for every
// connection. Where the client closes first (the raw listener) the sockets
// are closed as before, the server again seeing FINs only.
func TestFinSocketsReusedWhenServerClosesFirst(t *testing.T) {
	const n, c = 300, 3
	checkFD(t)
	ln, ports := startListener(t, listener.Config{Mode: listener.HTTP})
	p, err := protocol.New("http", protocol.Options{Target: ln.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{Workload: "per-request", Target: ln.Addr(), Concurrency: c, Loops: 1, Requests: n, Protocol: p})
	if res.Transactions != n || res.FailuresTotal() != 0 || res.Statuses["2xx"] != n {
		t.Fatalf("transactions %d, statuses %v, failures %v; want %d 2xx", res.Transactions, res.Statuses, res.Failures, n)
	}
	// On loopback the ACK nearly always comes within shutdown(); a
	// listener thread holding its socket at that moment defers it.
	if res.SocketsReused < n/2 || res.SocketsReused > n-c {
		t.Errorf("sockets reused %d, want most of %d", res.SocketsReused, n-c)
	}
	waitFor(t, "listener to close every connection", func() bool { return ln.Stats().Closed >= n })
	if st := ln.Stats(); st.Resets != 0 || st.Accepted != n || ports.len() != n {
		t.Errorf("listener: %d resets, accepted %d from %d ports; want none, %d new connections", st.Resets, st.Accepted, ports.len(), n)
	}

	raw, _ := startListener(t, listener.Config{})
	res = run(t, Config{Workload: "per-request", Target: raw.Addr(), Concurrency: c, Loops: 1, Requests: n})
	if res.Transactions != n || res.FailuresTotal() != 0 {
		t.Fatalf("raw: transactions %d, failures %v", res.Transactions, res.Failures)
	}
	waitFor(t, "raw listener to close every connection", func() bool { return raw.Stats().Closed >= n })
	if st := raw.Stats(); st.Resets != 0 {
		t.Errorf("raw listener saw %d resets; --close fin must end with FINs", st.Resets)
	}
}

// With Config.Spin a loop spins before it sleeps only while answers come
// within the window: against a listener that answers, spins find events;
// against one that never answers, the window the quick handshakes opened
// closes after at most three empty spins (10, 5, 2.5 µs) and stays shut.
func TestSpinOnlyWhileItPays(t *testing.T) {
	ln, _ := startListener(t, listener.Config{Loops: 1})
	res := run(t, Config{Workload: "pooled", Target: ln.Addr(), Concurrency: 2, Loops: 1, Requests: 5000, Spin: 50 * time.Microsecond})
	if res.Transactions != 5000 || res.FailuresTotal() != 0 {
		t.Fatalf("transactions %d, failures %v", res.Transactions, res.Failures)
	}
	if res.Spins == 0 || res.SpinHits == 0 || res.Spin <= 0 {
		t.Errorf("answering server: %d spins, %d found events, %v spinning; want spins that pay", res.Spins, res.SpinHits, res.Spin)
	}
	mute, _ := startListener(t, listener.Config{Loops: 1, Mode: listener.Discard})
	res = run(t, Config{Workload: "pooled", Target: mute.Addr(), Concurrency: 2, Loops: 1, Duration: 300 * time.Millisecond, Spin: 50 * time.Microsecond})
	// A spin may catch the second handshake (2 connections); no answer
	// ever comes.
	if empty := res.Spins - res.SpinHits; empty > 3 || res.SpinHits > 2 {
		t.Errorf("silent server: %d spins (%d found events, %v); want at most 3 empty ones", res.Spins, res.SpinHits, res.Spin)
	}
}

package netpath

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/connbench/connbench/kernel"
)

// needRoot skips a test that creates namespaces when it cannot.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating network namespaces and TUN devices needs CAP_SYS_ADMIN and CAP_NET_ADMIN")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs /dev/net/tun (CONFIG_TUN): %v", err)
	}
}

// newTestPath creates a path that is closed when the test ends.
func newTestPath(t testing.TB, cfg Config) *Path {
	t.Helper()
	needRoot(t)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// echoServer listens in ns on addr:0 and echoes every connection until the
// test ends; it returns the address and counts of connections and bytes.
type echoServer struct {
	addr  string
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns int
	bytes int64
}

func startEcho(t testing.TB, ns *NS, addr netip.Addr) *echoServer {
	t.Helper()
	s := &echoServer{}
	err := ns.Do(func() error {
		var err error
		s.ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.addr = s.ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				n, _ := io.Copy(c, c)
				s.mu.Lock()
				s.conns++
				s.bytes += n
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		s.ln.Close()
		s.wg.Wait()
	})
	return s
}

// dialIn dials addr from ns's home thread and returns the connection and
// the time connect() took.
func dialIn(t testing.TB, ns *NS, addr string, timeout time.Duration) (net.Conn, time.Duration, error) {
	t.Helper()
	var c net.Conn
	var took time.Duration
	err := ns.Do(func() error {
		d := net.Dialer{Timeout: timeout}
		start := time.Now()
		var err error
		c, err = d.Dial("tcp", addr)
		took = time.Since(start)
		return err
	})
	return c, took, err
}

func median(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func TestPlainPath(t *testing.T) {
	p := newTestPath(t, Config{})
	if p.ClientAddr.String() != "198.18.0.1" || p.ServerAddr.String() != "198.18.0.2" {
		t.Fatalf("addresses %s, %s", p.ClientAddr, p.ServerAddr)
	}
	srv := startEcho(t, p.Server, p.ServerAddr)
	c, _, err := dialIn(t, p.Client, srv.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if la := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); la != p.ClientAddr {
		t.Errorf("client's local address %s, want %s", la, p.ClientAddr)
	}
	msg := bytes.Repeat([]byte("connbench"), 20000) // 180 kB: many full-size packets
	go func() { c.Write(msg); c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echoed %d bytes, sent %d", len(got), len(msg))
	}
	// The server counts before it closes, and the client saw the close.
	srv.mu.Lock()
	conns, nbytes := srv.conns, srv.bytes
	srv.mu.Unlock()
	if conns != 1 || nbytes != int64(len(msg)) {
		t.Errorf("server saw %d connections and %d bytes, want 1 and %d", conns, nbytes, len(msg))
	}

	// The client's last ACK and the server's answer to its FIN may still
	// be in the forwarder when ReadAll returns: wait for the counts to
	// settle before comparing them.
	st := settledStats(t, p)
	for _, d := range []struct {
		name string
		s    DirStats
	}{{"client→server", st.ClientToServer}, {"server→client", st.ServerToClient}} {
		if d.s.Packets < 10 || d.s.Bytes < int64(len(msg)) {
			t.Errorf("%s: %d packets, %d bytes; want ≥ 10 and ≥ %d", d.name, d.s.Packets, d.s.Bytes, len(msg))
		}
		if d.s.ForwardedPackets != d.s.Packets || d.s.ForwardedBytes != d.s.Bytes {
			t.Errorf("%s: forwarded %d/%d of %d/%d packets/bytes", d.name, d.s.ForwardedPackets, d.s.ForwardedBytes, d.s.Packets, d.s.Bytes)
		}
		if d.s.AddedDelay.Count() != d.s.ForwardedPackets {
			t.Errorf("%s: %d delays recorded for %d packets", d.name, d.s.AddedDelay.Count(), d.s.ForwardedPackets)
		}
	}
	if n := st.Unrequested(); n != 0 {
		t.Errorf("%d unrequested drops: %+v", n, st)
	}
	if st.Mechanism != "tun-forwarder" {
		t.Errorf("Mechanism %q", st.Mechanism)
	}

	// The path's floor: a handshake across it at RTT 0 against one on the
	// client namespace's loopback.
	lo := startEcho(t, p.Client, netip.MustParseAddr("127.0.0.1"))
	var viaPath, viaLo []time.Duration
	for range 50 {
		for _, x := range []struct {
			addr string
			d    *[]time.Duration
		}{{srv.addr, &viaPath}, {lo.addr, &viaLo}} {
			c, took, err := dialIn(t, p.Client, x.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			*x.d = append(*x.d, took)
		}
	}
	t.Logf("handshake p50: %v across the path at RTT 0, %v on loopback; added delay p50 %v p99 %v",
		median(viaPath), median(viaLo), time.Duration(st.AddedDelay().ValueAt(50)), time.Duration(st.AddedDelay().ValueAt(99)))
}

// settled reports whether nothing is inside the forwarder: every packet
// read in either direction was forwarded, with its delay recorded.
func settled(st Stats) bool {
	for _, d := range []DirStats{st.ClientToServer, st.ServerToClient} {
		if d.ForwardedPackets != d.Packets || d.ForwardedBytes != d.Bytes || d.AddedDelay.Count() != d.ForwardedPackets {
			return false
		}
	}
	return true
}

// settledStats returns p's counts once two readings 20 ms apart are the
// same and settled, or the last reading after 5 s (the test then reports
// what did not add up).
func settledStats(t *testing.T, p *Path) Stats {
	t.Helper()
	prev := p.Stats()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		st := p.Stats()
		if settled(st) && settled(prev) && st.ClientToServer.Packets == prev.ClientToServer.Packets && st.ServerToClient.Packets == prev.ServerToClient.Packets {
			return st
		}
		prev = st
	}
	t.Log("the forwarder's counts did not settle within 5 s")
	return prev
}

func TestRTT(t *testing.T) {
	const rtt = 50 * time.Millisecond
	p := newTestPath(t, Config{RTT: rtt})
	srv := startEcho(t, p.Server, p.ServerAddr)
	var took []time.Duration
	for range 10 {
		c, d, err := dialIn(t, p.Client, srv.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		took = append(took, d)
	}
	m := median(took)
	t.Logf("RTT %v: handshake p50 %v (all: %v)", rtt, m, took)
	// One round trip: never sooner (the path adds it; 5% for the clock),
	// and clearly less than two however loaded the machine.
	if m < rtt*95/100 || m >= rtt*19/10 {
		t.Errorf("handshake p50 %v, want one round trip: at least %v and clearly under 2 RTT", m, rtt)
	}
	st := p.Stats()
	if n := st.Unrequested(); n != 0 {
		t.Errorf("%d unrequested drops", n)
	}
	ad := st.AddedDelay()
	t.Logf("added delay p50 %v p99 %v max %v over %d packets",
		time.Duration(ad.ValueAt(50)), time.Duration(ad.ValueAt(99)), time.Duration(ad.ValueAt(100)), ad.Count())
}

// dialParallel dials addr n times at once, each from its own thread in ns
// (through NS.Go), and returns the connect times.
func dialParallel(t *testing.T, ns *NS, addr string, n int) []time.Duration {
	t.Helper()
	took := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		err := ns.Go(func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 10 * time.Second}
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			took[i], errs[i] = time.Since(start), err
			if err == nil {
				c.Close()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return took
}

// synDelay returns what drops lost SYNs cost a connect: the initial
// timeout is 1 s; Linux 6.5 and later keep it for the first
// net.ipv4.tcp_syn_linear_timeouts retransmissions (default 4), then it
// doubles, as it always did before.
func synDelay(drops, linear int) time.Duration {
	var d time.Duration
	rto := time.Second
	for i := range drops {
		d += rto
		if i >= linear {
			rto *= 2
		}
	}
	return d
}

func TestDropSYN(t *testing.T) {
	needRoot(t)
	const rtt = 20 * time.Millisecond
	for _, tc := range []struct {
		drop, conns int
		linear      string // tcp_syn_linear_timeouts; "" leaves the default
	}{
		{1, 3, ""},
		{2, 1, ""},
		{2, 1, "0"}, // the classic exponential backoff: 1 s + 2 s
	} {
		name := fmt.Sprintf("drop%d", tc.drop)
		if tc.linear != "" {
			name += "-linear" + tc.linear
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newTestPath(t, Config{RTT: rtt, DropSYN: tc.drop})
			linear := 0 // kernels before 6.5 have no such sysctl
			err := p.Client.Do(func() error {
				if tc.linear != "" {
					if err := kernel.WriteSysctl("", "net.ipv4.tcp_syn_linear_timeouts", tc.linear); err != nil {
						return err
					}
				}
				v, err := kernel.ReadSysctl("", "net.ipv4.tcp_syn_linear_timeouts")
				if err == nil {
					linear, err = strconv.Atoi(v)
				}
				return err
			})
			if errors.Is(err, os.ErrNotExist) && tc.linear != "" {
				t.Skipf("this kernel has no net.ipv4.tcp_syn_linear_timeouts (it came in Linux 6.5): %v", err)
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				// As root, in the test's own namespace: a failed read
				// or write is connbench's sysctl code failing.
				t.Fatalf("tcp_syn_linear_timeouts: %v", err)
			}
			want := synDelay(tc.drop, linear) + rtt
			srv := startEcho(t, p.Server, p.ServerAddr)
			took := dialParallel(t, p.Client, srv.addr, tc.conns)
			t.Logf("DropSYN %d, RTT %v, tcp_syn_linear_timeouts %d: handshakes %v, want about %v", tc.drop, rtt, linear, took, want)
			for _, d := range took {
				if d < want*9/10 || d > want*3/2 {
					t.Errorf("handshake %v, want %v..%v", d, want*9/10, want*3/2)
				}
			}
			st := p.Stats()
			if want := int64(tc.drop * tc.conns); st.ClientToServer.DroppedSYN != want {
				t.Errorf("DroppedSYN %d, want %d", st.ClientToServer.DroppedSYN, want)
			}
			if st.Unrequested() != 0 || st.ClientToServer.DroppedLoss != 0 {
				t.Errorf("other drops: %+v", st.ClientToServer)
			}
		})
	}
}

func TestDropSYNShare(t *testing.T) {
	p := newTestPath(t, Config{DropSYNShare: 1})
	srv := startEcho(t, p.Server, p.ServerAddr)
	_, _, err := dialIn(t, p.Client, srv.addr, 300*time.Millisecond)
	if err == nil {
		t.Fatal("dial succeeded though every SYN is dropped")
	}
	if n := p.Stats().ClientToServer.DroppedSYN; n < 1 {
		t.Errorf("DroppedSYN %d, want ≥ 1", n)
	}
}

// udpBurst sends n numbered datagrams from the client to the server, waits
// until the forwarder has decided on all of them, and returns the sequence
// numbers received, in order.
func udpBurst(t *testing.T, p *Path, n int) []int {
	t.Helper()
	var rc *net.UDPConn
	err := p.Server.Do(func() error {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ServerAddr, 0)))
		if err != nil {
			return err
		}
		rc = c
		// Hold the whole burst without a reader racing the sender.
		raw, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := raw.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		}); err != nil {
			return err
		}
		return serr
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	err = p.Client.Do(func() error {
		c, err := net.DialUDP("udp4", nil, rc.LocalAddr().(*net.UDPAddr))
		if err != nil {
			return err
		}
		defer c.Close()
		b := make([]byte, 64)
		for i := range n {
			b[0], b[1] = byte(i>>8), byte(i)
			if _, err := c.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every datagram is either dropped or delivered once the forwarder has
	// read them all and emptied its queue.
	var st Stats
	for deadline := time.Now().Add(10 * time.Second); ; {
		st = p.Stats()
		d := st.ClientToServer
		if d.Packets >= int64(n) && d.ForwardedPackets+d.DroppedLoss+d.DroppedSYN+d.Unrequested() >= d.Packets {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("forwarder did not finish: %+v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var got []int
	rc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	b := make([]byte, 64)
	for {
		m, err := rc.Read(b)
		if err != nil {
			break
		}
		if m == 64 {
			got = append(got, int(b[0])<<8|int(b[1]))
		}
	}
	if int64(len(got)) != st.ClientToServer.ForwardedPackets {
		t.Errorf("received %d datagrams, forwarder delivered %d", len(got), st.ClientToServer.ForwardedPackets)
	}
	return got
}

func TestLoss(t *testing.T) {
	const n = 1000
	p := newTestPath(t, Config{Loss: 0.3, Seed: 42})
	got := udpBurst(t, p, n)
	st := p.Stats().ClientToServer
	t.Logf("Loss 0.3: %d of %d datagrams arrived, %d dropped", len(got), n, st.DroppedLoss)
	if st.DroppedLoss < n*2/10 || st.DroppedLoss > n*4/10 {
		t.Errorf("DroppedLoss %d of %d, want about 30%%", st.DroppedLoss, n)
	}
	if !slices.IsSorted(got) {
		t.Error("datagrams reordered")
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	const n = 500
	p := newTestPath(t, Config{RTT: 10 * time.Millisecond, Jitter: 4 * time.Millisecond})
	got := udpBurst(t, p, n)
	if len(got) != n {
		t.Errorf("%d of %d datagrams arrived", len(got), n)
	}
	if !slices.IsSorted(got) {
		t.Error("datagrams reordered")
	}
}

func TestRate(t *testing.T) {
	const rate = 20_000_000 // bits/s
	const size = 1 << 20
	p := newTestPath(t, Config{Rate: rate})
	var ln net.Listener
	if err := p.Server.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(p.ServerAddr, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	c, _, err := dialIn(t, p.Client, ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.Write(make([]byte, size))
	c.Close()
	n := <-done
	took := time.Since(start)
	got := float64(n) * 8 / took.Seconds()
	t.Logf("Rate %d bit/s: %d bytes in %v = %.1f Mbit/s of payload", rate, n, took, got/1e6)
	if n != size {
		t.Fatalf("received %d bytes, want %d", n, size)
	}
	if got < rate*0.5 || got > rate*1.05 {
		t.Errorf("throughput %.1f Mbit/s, want about %d", got/1e6, rate/1_000_000)
	}
}

func TestDoAndEnter(t *testing.T) {
	p := newTestPath(t, Config{})
	// Each namespace has its own sysctls, seen from its threads.
	if err := p.Client.Do(func() error {
		return kernel.WriteSysctl("", "net.ipv4.tcp_fin_timeout", "7")
	}); err != nil {
		t.Fatal(err)
	}
	var c, s string
	p.Client.Do(func() (err error) { c, err = kernel.ReadSysctl("", "net.ipv4.tcp_fin_timeout"); return })
	p.Server.Do(func() (err error) { s, err = kernel.ReadSysctl("", "net.ipv4.tcp_fin_timeout"); return })
	if c != "7" || s == "7" {
		t.Errorf("tcp_fin_timeout: client %q (want 7), server %q (want the default)", c, s)
	}
	// A thread that entered the client namespace sees its sysctl too.
	read := func() error {
		v, err := kernel.ReadSysctl("", "net.ipv4.tcp_fin_timeout")
		if err == nil && v != "7" {
			err = errors.New("entered thread reads tcp_fin_timeout " + v)
		}
		return err
	}
	errc := make(chan error, 2)
	if err := p.Client.Go(func() { errc <- read() }); err != nil {
		t.Fatal(err)
	}
	go func() {
		switch err := Enter(p.Client.FD()); {
		case errors.Is(err, ErrMainThread):
			errc <- nil // refused, as documented
		case err != nil:
			errc <- err
		default:
			errc <- read()
		}
	}()
	for range 2 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if err := Go(-1, func() { t.Error("ran after a failed setns") }); err == nil {
		t.Error("Go(-1) succeeded")
	}
}

// nsOfThreads returns the network namespace of each of the process's threads.
func nsOfThreads(t *testing.T) map[string]int {
	m := map[string]int{}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		if l, err := os.Readlink("/proc/self/task/" + e.Name() + "/ns/net"); err == nil {
			m[l]++
		}
	}
	return m
}

func countFDs(t *testing.T) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestCloseReleasesEverything(t *testing.T) {
	needRoot(t)
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), countFDs(t)
	p, err := New(Config{RTT: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	p.Server.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(p.ServerAddr, 0).String())
		return
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = p.Client.Do(func() error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err
	})
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(nsOfThreads(t)); got < 3 {
		t.Errorf("threads in %d namespaces while open, want ≥ 3", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := p.Client.Do(func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v, want ErrClosed", err)
	}
	if p.Client.FD() != -1 {
		t.Errorf("FD after Close = %d", p.Client.FD())
	}
	if st := p.Stats(); st.ClientToServer.Packets == 0 {
		t.Error("final stats lost")
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		g, fd, ns := runtime.NumGoroutine(), countFDs(t), nsOfThreads(t)
		if g <= g0 && fd <= fd0 && len(ns) == 1 && ns[hostNS] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Close: %d goroutines (was %d), %d fds (was %d), threads' namespaces %v (host %s)", g, g0, fd, fd0, ns, hostNS)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{Loss: 2}); err == nil {
		t.Error("Loss 2 accepted")
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: the permission error is not exercised")
		return
	}
	_, err := New(Config{})
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("New as non-root: %v, want a permission error", err)
	}
}

func TestNetemAvailable(t *testing.T) {
	t.Logf("NetemAvailable() = %v on %s", NetemAvailable(), kernel.KernelRelease())
}

package kernel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestDiagABI(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof inet_diag_sockid", unsafe.Sizeof(inetDiagSockID{}), 48},
		{"sizeof inet_diag_req_v2", unsafe.Sizeof(inetDiagReqV2{}), 56},
		{"sizeof inet_diag_msg", unsafe.Sizeof(inetDiagMsg{}), 72},
		{"sizeof inet_diag_bc_op", unsafe.Sizeof(inetDiagBcOp{}), 4},
		{"sizeof inet_diag_hostcond", unsafe.Sizeof(inetDiagHostcond{}), 8},
		{"offsetof inet_diag_req_v2.id", unsafe.Offsetof(inetDiagReqV2{}.ID), 8},
		{"offsetof inet_diag_msg.id", unsafe.Offsetof(inetDiagMsg{}.ID), 4},
		{"offsetof inet_diag_sockid.idiag_dst", unsafe.Offsetof(inetDiagSockID{}.Dst), 20},
		{"offsetof inet_diag_msg.idiag_inode", unsafe.Offsetof(inetDiagMsg{}.Inode), 68},
		{"offsetof inet_diag_hostcond.port", unsafe.Offsetof(inetDiagHostcond{}.Port), 4},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestBytecode(t *testing.T) {
	ne := binary.NativeEndian
	port := make([]byte, 4)
	ne.PutUint32(port, 8080)
	any := make([]byte, 4)
	ne.PutUint32(any, 0xffffffff)

	// One condition: D_COND 127.0.0.1/32 port 8080; yes = 16 (end), no = 20 (reject).
	got := appendBytecodeAttr(nil, unix.AF_INET, Filter{Remote: netip.MustParseAddrPort("127.0.0.1:8080")})
	want := []byte{20, 0, 1, 0, bcDCond, 16, 20, 0, unix.AF_INET, 32, 0, 0}
	want = append(append(want, port...), 127, 0, 0, 1)
	if ne.Uint16(want) != 20 { // attribute header in host order
		want[0], want[1] = want[1], want[0]
		want[2], want[3] = want[3], want[2]
		want[6], want[7] = want[7], want[6]
	}
	if !bytes.Equal(got, want) {
		t.Errorf("remote bytecode\n got %v\nwant %v", got, want)
	}

	// Two conditions (IPv6): D_COND [::1] any port, then S_COND any address port 8080.
	got = appendBytecodeAttr(nil, unix.AF_INET6, Filter{
		Remote: netip.AddrPortFrom(netip.IPv6Loopback(), 0),
		Local:  netip.AddrPortFrom(netip.Addr{}, 8080),
	})
	if len(got) != 4+2*28 || ne.Uint16(got) != 60 || ne.Uint16(got[2:]) != inetDiagReqBCAttr {
		t.Fatalf("two-condition attribute header: %v", got[:4])
	}
	op1, op2 := got[4:32], got[32:60]
	if op1[0] != bcDCond || op1[1] != 28 || ne.Uint16(op1[2:]) != 60 || op1[4] != unix.AF_INET6 || op1[5] != 128 ||
		!bytes.Equal(op1[8:12], any) || !bytes.Equal(op1[12:28], netip.IPv6Loopback().AsSlice()) {
		t.Errorf("first condition %v", op1)
	}
	if op2[0] != bcSCond || op2[1] != 28 || ne.Uint16(op2[2:]) != 32 || op2[5] != 0 ||
		!bytes.Equal(op2[8:12], port) || !bytes.Equal(op2[12:28], make([]byte, 16)) {
		t.Errorf("second condition %v", op2)
	}
}

func TestFilterFamilies(t *testing.T) {
	v4 := netip.MustParseAddrPort("127.0.0.1:80")
	v6 := netip.MustParseAddrPort("[::1]:80")
	for _, c := range []struct {
		f    Filter
		want []int
	}{
		{Filter{}, []int{unix.AF_INET, unix.AF_INET6}},
		{Filter{Family: unix.AF_INET6}, []int{unix.AF_INET6}},
		{Filter{Remote: v4}, []int{unix.AF_INET}},
		{Filter{Local: v6}, []int{unix.AF_INET6}},
		{Filter{Remote: netip.AddrPortFrom(netip.Addr{}, 80)}, []int{unix.AF_INET, unix.AF_INET6}},
	} {
		fams, n, err := filterFamilies(c.f)
		if err != nil || fmt.Sprint(fams[:n]) != fmt.Sprint(c.want) {
			t.Errorf("filterFamilies(%+v) = %v, %v; want %v", c.f, fams[:n], err, c.want)
		}
	}
	for _, f := range []Filter{
		{Family: 99},
		{Family: unix.AF_INET, Remote: v6},
		{Remote: v4, Local: v6},
	} {
		if _, _, err := filterFamilies(f); !errors.Is(err, ErrBadFilter) {
			t.Errorf("filterFamilies(%+v): err = %v, want ErrBadFilter", f, err)
		}
	}
}

// conns opens n loopback connections to ln and returns both ends.
func conns(t testing.TB, ln net.Listener, n int) (clients, servers []net.Conn) {
	t.Helper()
	for range n {
		c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		s, err := ln.Accept()
		if err != nil {
			c.Close()
			t.Fatalf("accept: %v", err)
		}
		clients = append(clients, c)
		servers = append(servers, s)
	}
	return clients, servers
}

// closeClientFirst closes every client, then each server once it has seen
// the client's FIN, so that the clients end in TIME_WAIT.
func closeClientFirst(t testing.TB, clients, servers []net.Conn) {
	t.Helper()
	for _, c := range clients {
		c.Close()
	}
	var b [1]byte
	for _, s := range servers {
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := s.Read(b[:]); err != io.EOF {
			t.Errorf("server read: %v, want EOF", err)
		}
		s.Close()
	}
}

// waitSample samples f until ok accepts the sample or a few seconds pass.
func waitSample(t testing.TB, s *Sampler, f Filter, ok func(Sample) bool) Sample {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.Sample(f)
		if err != nil {
			t.Fatal(err)
		}
		if ok(got) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronisation
	}
}

// listen listens on network ("tcp4" or "tcp6") at a loopback address no
// other test is likely to use: a random 127.a.b.c for IPv4, ::1 for IPv6.
// It retries until no socket from an earlier user of the port (say, a
// client still in TIME_WAIT toward it) is in the way, so that tests can
// count exactly. The listener is closed at the end of the test.
func listen(t testing.TB, network string, opts ...func(*net.ListenConfig)) (net.Listener, netip.AddrPort) {
	t.Helper()
	s, err := NewSampler()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var lc net.ListenConfig
	for _, o := range opts {
		o(&lc)
	}
	for range 10 {
		host := "::1"
		if network == "tcp4" {
			host = fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254), 1+rand.IntN(254))
		}
		ln, err := lc.Listen(context.Background(), network, net.JoinHostPort(host, "0"))
		if err != nil {
			t.Skipf("listen %s %s: %v", network, host, err)
		}
		addr := netip.MustParseAddrPort(ln.Addr().String())
		r, err1 := s.Sample(Filter{Remote: addr})
		l, err2 := s.Sample(Filter{Local: addr})
		if err := errors.Join(err1, err2); err != nil {
			ln.Close()
			t.Fatal(err)
		}
		if r.States.Total() == 0 && l.States.Total() == 1 {
			t.Cleanup(func() { ln.Close() })
			return ln, addr
		}
		ln.Close()
	}
	t.Fatalf("no %s loopback port free of other sockets in 10 tries", network)
	return nil, netip.AddrPort{}
}

func newSampler(t testing.TB) *Sampler {
	t.Helper()
	s, err := NewSampler()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSamplerLoopback(t *testing.T) {
	const n = 40
	ln, addr := listen(t, "tcp4")
	clients, servers := conns(t, ln, n)
	defer func() {
		for _, c := range append(clients, servers...) {
			c.Close()
		}
	}()
	s := newSampler(t)
	user := newSampler(t) // filters in user space
	user.noBytecode = true

	client := Filter{Remote: addr}
	server := Filter{Local: addr}
	got, err := s.Sample(client)
	if err != nil {
		t.Fatal(err)
	}
	if got.States[StateEstablished] != n || got.States.Total() != n || got.LocalPorts != n {
		t.Errorf("client side: %v, %d local ports; want %d established, %d ports", got.States.Map(), got.LocalPorts, n, n)
	}
	if s.noBytecode {
		t.Errorf("kernel rejected the filter program")
	} else if s.received != n {
		t.Errorf("kernel sent %d sockets for a filter matching %d", s.received, n)
	}
	ugot, err := user.Sample(client)
	if err != nil {
		t.Fatal(err)
	}
	if ugot != got {
		t.Errorf("user-space filter: %+v, kernel filter: %+v", ugot, got)
	}
	// The kernel still drops sockets by port (the request's id), but the
	// address is left to user space: another address, same port.
	other := Filter{Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), addr.Port())}
	if ugot, err := user.Sample(other); err != nil || ugot.States.Total() != 0 || user.received != n {
		t.Errorf("user-space filter, other address: %v, %v; %d sockets received, want 0 matched of %d",
			ugot.States.Map(), err, user.received, n)
	}
	if got, err := s.Sample(other); err != nil || got.States.Total() != 0 || s.received != 0 {
		t.Errorf("kernel filter, other address: %v, %v; %d sockets received, want none", got.States.Map(), err, s.received)
	}

	got, err = s.Sample(server)
	if err != nil {
		t.Fatal(err)
	}
	if got.States[StateEstablished] != n || got.States[StateListen] != 1 || got.States.Total() != n+1 || got.LocalPorts != 1 {
		t.Errorf("server side: %v, %d local ports; want %d established, 1 listen, 1 port", got.States.Map(), got.LocalPorts, n)
	}
	if ugot, err := user.Sample(server); err != nil || ugot != got {
		t.Errorf("user-space filter: %+v, %v; kernel filter: %+v", ugot, err, got)
	}
	both := Filter{Remote: addr, Local: netip.MustParseAddrPort(clients[0].LocalAddr().String())}
	if got, err := s.Sample(both); err != nil || got.States.Total() != 1 || got.States[StateEstablished] != 1 {
		t.Errorf("one connection by both ends: %v, %v", got.States.Map(), err)
	}

	closeClientFirst(t, clients, servers)
	got = waitSample(t, s, client, func(g Sample) bool { return g.States[StateTimeWait] == n && g.States.Total() == n })
	if got.States[StateTimeWait] != n || got.States.Total() != n || got.LocalPorts != n {
		t.Fatalf("after client-first close: %v, %d ports; want %d time_wait, %d ports", got.States.Map(), got.LocalPorts, n, n)
	}
	if ugot, err := user.Sample(client); err != nil || ugot != got {
		t.Errorf("user-space filter: %+v, %v; kernel filter: %+v", ugot, err, got)
	}
	tw := Filter{Remote: addr, States: MaskOf(StateTimeWait)}
	if got, err := s.Sample(tw); err != nil || got.States[StateTimeWait] != n || got.States.Total() != n {
		t.Errorf("TIME_WAIT only: %v, %v", got.States.Map(), err)
	}
	est := Filter{Remote: addr, States: MaskOf(StateEstablished)}
	if got, err := s.Sample(est); err != nil || got.States.Total() != 0 || got.LocalPorts != 0 {
		t.Errorf("ESTABLISHED only: %+v, %v; want nothing", got, err)
	}
	got = waitSample(t, s, server, func(g Sample) bool { return g.States.Total() == 1 })
	if got.States[StateListen] != 1 || got.States.Total() != 1 {
		t.Errorf("server side after close: %v; want just the listener", got.States.Map())
	}

	if path, err := exec.LookPath("ss"); err != nil {
		t.Logf("ss not found (%v): not comparing with ss", err)
	} else {
		out, err := exec.Command(path, "-Htan", "state", "time-wait", "dst", addr.String()).Output()
		if err != nil {
			t.Fatalf("ss: %v", err)
		}
		lines := strings.Count(string(out), "\n")
		if lines != n {
			t.Errorf("ss counts %d TIME_WAIT sockets to %v, sampler %d:\n%s", lines, addr, n, out)
		}
	}
}

func TestSamplerIPv6(t *testing.T) {
	const n = 8
	ln, addr := listen(t, "tcp6")
	clients, servers := conns(t, ln, n)
	defer func() {
		for _, c := range append(clients, servers...) {
			c.Close()
		}
	}()
	s := newSampler(t)
	got, err := s.Sample(Filter{Remote: addr})
	if err != nil {
		t.Fatal(err)
	}
	if got.States[StateEstablished] != n || got.States.Total() != n || got.LocalPorts != n {
		t.Errorf("client side: %v, %d ports", got.States.Map(), got.LocalPorts)
	}
	// The same port on the IPv4 side matches nothing.
	v4 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port())
	if got, err := s.Sample(Filter{Remote: v4}); err != nil || got.States.Total() != 0 {
		t.Errorf("IPv4 filter on IPv6 sockets: %v, %v", got.States.Map(), err)
	}
	// By port alone, both families are dumped.
	byPort := Filter{Local: netip.AddrPortFrom(netip.Addr{}, addr.Port())}
	if got, err := s.Sample(byPort); err != nil || got.States[StateEstablished] != n || got.States[StateListen] != 1 {
		t.Errorf("server side by port: %v, %v", got.States.Map(), err)
	}
	closeClientFirst(t, clients, servers)
	got = waitSample(t, s, Filter{Remote: addr}, func(g Sample) bool { return g.States[StateTimeWait] == n })
	if got.States[StateTimeWait] != n || got.States.Total() != n {
		t.Errorf("after close: %v", got.States.Map())
	}
	if _, err := s.Sample(Filter{Family: unix.AF_INET, Remote: addr}); !errors.Is(err, ErrBadFilter) {
		t.Errorf("IPv6 address with AF_INET: err = %v, want ErrBadFilter", err)
	}
}

// TestSamplerFallback has the kernel reject the filter program and checks
// that the Sampler filters in user space from then on.
func TestSamplerFallback(t *testing.T) {
	const n = 5
	ln, addr := listen(t, "tcp4")
	clients, servers := conns(t, ln, n)
	defer func() {
		for _, c := range append(clients, servers...) {
			c.Close()
		}
	}()
	s := newSampler(t)
	testBadOpcode = 0xfe
	defer func() { testBadOpcode = 0 }()
	for range 2 {
		got, err := s.Sample(Filter{Remote: addr})
		if err != nil {
			t.Fatal(err)
		}
		if !s.noBytecode {
			t.Fatal("kernel accepted a program with opcode 0xfe")
		}
		if got.States[StateEstablished] != n || got.States.Total() != n || got.LocalPorts != n {
			t.Errorf("user-space fallback: %v, %d ports", got.States.Map(), got.LocalPorts)
		}
	}
}

func TestSamplerAll(t *testing.T) {
	ln, _ := listen(t, "tcp4")
	clients, servers := conns(t, ln, 3)
	defer func() {
		for _, c := range append(clients, servers...) {
			c.Close()
		}
	}()
	s := newSampler(t)
	got, err := s.Sample(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got.States[StateEstablished] < 6 || got.States[StateListen] < 1 {
		t.Errorf("all sockets: %v", got.States.Map())
	}
}

func TestSamplerClose(t *testing.T) {
	s, err := NewSampler()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Sample(Filter{}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Sample after Close: err = %v, want os.ErrClosed", err)
	}
}

// TestSamplerReopen checks that a Sampler whose socket broke reopens it.
func TestSamplerReopen(t *testing.T) {
	s := newSampler(t)
	s.close() // as after a failed dump
	if _, err := s.Sample(Filter{}); err != nil {
		t.Fatalf("Sample after a broken socket: %v", err)
	}
}

func TestSamplerNoAllocs(t *testing.T) {
	ln, addr := listen(t, "tcp4")
	clients, servers := conns(t, ln, 2)
	defer func() {
		for _, c := range append(clients, servers...) {
			c.Close()
		}
	}()
	s := newSampler(t)
	f := Filter{Remote: addr}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := s.Sample(f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Sample allocates %v times", allocs)
	}
}

// The benchmarks share one set of TIME_WAIT sockets to one loopback port.

const benchTimeWait = 10000

var benchTW struct {
	once sync.Once
	addr netip.AddrPort
	err  error
}

// timeWaitFixture leaves at least benchTimeWait client sockets in TIME_WAIT
// toward one listener on 127.0.0.1 (they expire by themselves after 60 s),
// never holding more than 2×500 descriptors at a time. With the default
// net.ipv4.tcp_tw_reuse=2, connect() may take over the 4-tuple of a loopback
// TIME_WAIT socket older than tcp_tw_reuse_delay (TcpExt.TWRecycled), so
// the fixture tops up until the count is reached.
func timeWaitFixture(b *testing.B) netip.AddrPort {
	benchTW.once.Do(func() {
		var ln net.Listener
		ln, benchTW.addr = listen(b, "tcp4")
		defer ln.Close()
		sm, err := NewSampler()
		if err != nil {
			benchTW.err = err
			return
		}
		defer sm.Close()
		f := Filter{Remote: benchTW.addr, States: MaskOf(StateTimeWait)}
		have := 0
		for round := 0; round < 10 && have < benchTimeWait; round++ {
			for need := benchTimeWait - have; need > 0; {
				batch := min(500, need)
				c, s := conns(b, ln, batch)
				closeClientFirst(b, c, s)
				need -= batch
			}
			got, err := sm.Sample(f)
			if err != nil {
				benchTW.err = err
				return
			}
			have = got.States[StateTimeWait]
		}
		if have < benchTimeWait {
			benchTW.err = fmt.Errorf("fixture: %d TIME_WAIT sockets, want %d", have, benchTimeWait)
		}
	})
	if benchTW.err != nil {
		b.Fatal(benchTW.err)
	}
	return benchTW.addr
}

func BenchmarkSample(b *testing.B) {
	addr := timeWaitFixture(b)
	s := newSampler(b)
	f := Filter{Remote: addr}
	var got Sample
	b.ResetTimer()
	for b.Loop() {
		var err error
		if got, err = s.Sample(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(got.States[StateTimeWait]), "timewait")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sample")
}

func BenchmarkSampleUserFilter(b *testing.B) {
	addr := timeWaitFixture(b)
	s := newSampler(b)
	s.noBytecode = true
	f := Filter{Remote: addr}
	var got Sample
	for b.Loop() {
		var err error
		if got, err = s.Sample(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(got.States[StateTimeWait]), "timewait")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sample")
}

// BenchmarkProcNetTCP counts the same sockets the way the sampler replaces:
// reading and parsing /proc/net/tcp.
func BenchmarkProcNetTCP(b *testing.B) {
	addr := timeWaitFixture(b)
	a := addr.Addr().As4()
	// /proc/net/tcp prints the address as the hex of a host-order u32.
	want := fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(a[:]), addr.Port())
	var counts StateCounts
	for b.Loop() {
		var err error
		if counts, err = procNetTCP("/proc/net/tcp", want); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(counts[StateTimeWait]), "timewait")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sample")
}

// procNetTCP counts the sockets of /proc/net/tcp whose remote address is
// remote ("0100007F:1F90") by state.
func procNetTCP(path, remote string) (StateCounts, error) {
	var c StateCounts
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[2] != remote {
			continue
		}
		st, err := strconv.ParseUint(fields[3], 16, 8)
		if err != nil {
			return c, err
		}
		if st < NumStates {
			c[st]++
		}
	}
	return c, sc.Err()
}

// TestSamplerSynRecv counts a pending connection request: with
// TCP_DEFER_ACCEPT the listener keeps the request socket (TCP_NEW_SYN_RECV
// inside the kernel) until data arrives, while the client is established.
func TestSamplerSynRecv(t *testing.T) {
	deferAccept := func(lc *net.ListenConfig) {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 5)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	_, addr := listen(t, "tcp4", deferAccept)
	c, err := net.Dial("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := newSampler(t)
	got := waitSample(t, s, Filter{Local: addr}, func(g Sample) bool { return g.States[StateSynRecv] == 1 })
	if got.States[StateSynRecv] != 1 || got.States[StateListen] != 1 || got.States.Total() != 2 {
		t.Errorf("server side: %v; want 1 syn_recv, 1 listen", got.States.Map())
	}
	if got, err := s.Sample(Filter{Local: addr, States: MaskOf(StateSynRecv)}); err != nil || got.States.Total() != 1 || got.States[StateSynRecv] != 1 {
		t.Errorf("SYN_RECV only: %v, %v", got.States.Map(), err)
	}
	if got, err := s.Sample(Filter{Remote: addr}); err != nil || got.States.Total() != 1 || got.States[StateEstablished] != 1 {
		t.Errorf("client side: %v, %v", got.States.Map(), err)
	}
}

// A start sample taken before a run counts what earlier runs left toward
// the target; a later run that closes with RST adds no TIME_WAIT to it, and
// one that closes with FIN does. This is what lets a result attribute a
// TIME_WAIT peak: the part beyond the start sample is the run's own.
func TestSamplerStartSample(t *testing.T) {
	const earlier, later = 30, 20
	ln, addr := listen(t, "tcp4")
	s := newSampler(t)
	f := Filter{Remote: addr}
	clients, servers := conns(t, ln, earlier)
	closeClientFirst(t, clients, servers)
	start := waitSample(t, s, f, func(x Sample) bool { return x.States[StateTimeWait] == earlier })
	if start.States[StateTimeWait] != earlier || start.States.Total() != earlier || start.LocalPorts != earlier {
		t.Fatalf("start sample %v (%d ports), want %d TIME_WAIT and nothing else", start.States.Map(), start.LocalPorts, earlier)
	}

	clients, servers = conns(t, ln, later)
	mid, err := s.Sample(f)
	if err != nil {
		t.Fatal(err)
	}
	// Earlier TIME_WAIT only decays (tcp_tw_reuse may hand a port on).
	if mid.States[StateEstablished] != later || mid.States[StateTimeWait] > earlier {
		t.Errorf("during the later run %v, want %d established beside at most %d earlier TIME_WAIT", mid.States.Map(), later, earlier)
	}
	for _, c := range clients {
		c.(*net.TCPConn).SetLinger(0) // close with RST: no TIME_WAIT
		c.Close()
	}
	for _, c := range servers {
		c.Close()
	}
	end := waitSample(t, s, f, func(x Sample) bool { return x.States[StateEstablished] == 0 })
	if own := end.States[StateTimeWait] - start.States[StateTimeWait]; own > 0 || end.States.Total() != end.States[StateTimeWait] {
		t.Errorf("after the RST run %v: %d TIME_WAIT beyond the start sample, want none and no other state", end.States.Map(), own)
	}

	clients, servers = conns(t, ln, later)
	closeClientFirst(t, clients, servers)
	fin := waitSample(t, s, f, func(x Sample) bool { return x.States.Total() == x.States[StateTimeWait] })
	if own := fin.States[StateTimeWait] - end.States[StateTimeWait]; own <= 0 || own > later {
		t.Errorf("after a FIN run %v: %d TIME_WAIT beyond the sample before it, want 1 to %d", fin.States.Map(), own, later)
	}
}

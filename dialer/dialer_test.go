package dialer

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func loopbackListener(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestOptionsReadBack sets every option and reads it back from the socket.
func TestOptionsReadBack(t *testing.T) {
	target := loopbackListener(t)
	d, err := New(target, Options{
		NoDelay:        true,
		ReuseAddr:      true,
		Close:          CloseRST,
		BindNoPort:     true,
		Sources:        []netip.Addr{netip.MustParseAddr("127.0.0.7")},
		LocalPortRange: [2]uint16{40000, 40100},
		SendBuffer:     64 << 10,
		RecvBuffer:     64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := d.Open(0)
	if err != nil {
		if errors.Is(err, unix.ENOPROTOOPT) {
			t.Skip("kernel lacks IP_LOCAL_PORT_RANGE (Linux < 6.3)")
		}
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, c := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{"IP_BIND_ADDRESS_NO_PORT", unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1},
		{"IP_LOCAL_PORT_RANGE", unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, portRangeWord(40000, 40100)},
		{"SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF, 2 * 64 << 10}, // the kernel doubles it
		{"SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, 2 * 64 << 10},
	} {
		got, err := unix.GetsockoptInt(fd, c.level, c.opt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	l, err := unix.GetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER)
	if err != nil || l.Onoff != 1 || l.Linger != 0 {
		t.Errorf("SO_LINGER = %+v (%v), want {1 0}", l, err)
	}
	// Bound to the source, port still unchosen (IP_BIND_ADDRESS_NO_PORT).
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	s4 := sa.(*unix.SockaddrInet4)
	if s4.Addr != [4]byte{127, 0, 0, 7} || s4.Port != 0 {
		t.Errorf("bound to %v:%d before connect, want 127.0.0.7:0", s4.Addr, s4.Port)
	}
	// Connect (blocking wait via poll) and check the 4-tuple's local end.
	if err := d.Connect(fd); err != nil && err != unix.EINPROGRESS {
		t.Fatal(err)
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if _, err := unix.Poll(pfd, 5000); err != nil {
		t.Fatal(err)
	}
	if err := SocketError(fd); err != nil {
		t.Fatal(err)
	}
	sa, _ = unix.Getsockname(fd)
	s4 = sa.(*unix.SockaddrInet4)
	if s4.Addr != [4]byte{127, 0, 0, 7} || s4.Port < 40000 || s4.Port > 40100 {
		t.Errorf("connected from %v:%d, want 127.0.0.7 and a port in 40000-40100", s4.Addr, s4.Port)
	}
}

// TestZeroOptionsAreKernelDefaults: the zero Options set nothing.
func TestZeroOptionsAreKernelDefaults(t *testing.T) {
	d, err := New(loopbackListener(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := d.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for name, o := range map[string][2]int{
		"TCP_NODELAY":             {unix.IPPROTO_TCP, unix.TCP_NODELAY},
		"SO_REUSEADDR":            {unix.SOL_SOCKET, unix.SO_REUSEADDR},
		"IP_BIND_ADDRESS_NO_PORT": {unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT},
	} {
		if v, _ := unix.GetsockoptInt(fd, o[0], o[1]); v != 0 {
			t.Errorf("%s = %d with zero Options", name, v)
		}
	}
	if l, _ := unix.GetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER); l.Onoff != 0 {
		t.Errorf("SO_LINGER on with zero Options")
	}
	if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
		t.Error("socket is blocking")
	}
}

func TestConnectRefusedIsClassified(t *testing.T) {
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	target := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	d, err := New(target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := d.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = d.Connect(fd)
	if err == unix.EINPROGRESS {
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 5000)
		err = SocketError(fd)
	}
	if got := Classify(err); got != FailRefused {
		t.Fatalf("Classify(%v) = %q, want %q", err, got, FailRefused)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&OpError{Op: "connect", Err: unix.EADDRNOTAVAIL}, FailAddrNotAvail},
		{unix.ECONNRESET, FailReset},
		{unix.EMFILE, FailMFile},
		{ErrShortRead, FailEOF},
		{&TimeoutError{Phase: FailConnectTimeout}, FailConnectTimeout},
		{errors.New("x"), "other"},
	} {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	good := netip.MustParseAddrPort("127.0.0.1:80")
	for name, c := range map[string]struct {
		t netip.AddrPort
		o Options
	}{
		"port 0":          {netip.MustParseAddrPort("127.0.0.1:0"), Options{}},
		"unspecified":     {netip.MustParseAddrPort("0.0.0.0:80"), Options{}},
		"family mismatch": {good, Options{Sources: []netip.Addr{netip.MustParseAddr("::1")}}},
		"range lo > hi":   {good, Options{LocalPortRange: [2]uint16{2000, 1000}}},
		"range half set":  {good, Options{LocalPortRange: [2]uint16{2000, 0}}},
	} {
		if _, err := New(c.t, c.o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestParseSources(t *testing.T) {
	got, err := ParseSources("127.0.0.2-127.0.0.4,127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"", "x", "127.0.0.5-127.0.0.1", "127.0.0.1-::1", "10.0.0.0-10.2.0.0"} {
		if _, err := ParseSources(bad); err == nil {
			t.Errorf("ParseSources(%q) accepted", bad)
		}
	}
}

// portRangeWord is IP_LOCAL_PORT_RANGE's value as getsockopt returns it
// (a signed 32-bit int holding lo | hi<<16).
func portRangeWord(lo, hi uint16) int {
	return int(int32(uint32(lo) | uint32(hi)<<16))
}

package netpath

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/connbench/connbench/kernel"
)

func TestBuildNewRoute(t *testing.T) {
	b := buildNewRoute(7, netip.MustParsePrefix("198.18.0.0/15"), 3)
	ne := binary.NativeEndian
	if int(ne.Uint32(b)) != len(b) || len(b) != 16+12+8+8 {
		t.Fatalf("length %d in a %d-byte message", ne.Uint32(b), len(b))
	}
	if ne.Uint16(b[4:]) != unix.RTM_NEWROUTE || ne.Uint32(b[8:]) != 7 {
		t.Errorf("type %d seq %d", ne.Uint16(b[4:]), ne.Uint32(b[8:]))
	}
	rt := b[16:]
	if rt[0] != unix.AF_INET || rt[1] != 15 || rt[4] != unix.RT_TABLE_MAIN || rt[6] != unix.RT_SCOPE_LINK || rt[7] != unix.RTN_UNICAST {
		t.Errorf("rtmsg % x", rt[:12])
	}
	a := rt[12:]
	if ne.Uint16(a[2:]) != unix.RTA_DST || [4]byte(a[4:8]) != [4]byte{198, 18, 0, 0} {
		t.Errorf("RTA_DST % x", a[:8])
	}
	if ne.Uint16(a[10:]) != unix.RTA_OIF || ne.Uint32(a[12:]) != 3 {
		t.Errorf("RTA_OIF % x", a[8:16])
	}
}

func TestParseAck(t *testing.T) {
	msg := func(typ uint16, seq uint32, errno int32) []byte {
		b := make([]byte, 16+4+16)
		ne := binary.NativeEndian
		ne.PutUint32(b, uint32(len(b)))
		ne.PutUint16(b[4:], typ)
		ne.PutUint32(b[8:], seq)
		ne.PutUint32(b[16:], uint32(errno))
		return b
	}
	two := append(msg(unix.NLMSG_NOOP, 1, 0), msg(unix.NLMSG_ERROR, 1, -int32(unix.EEXIST))...)
	if e, ok, err := parseAck(two, 1); err != nil || !ok || e != unix.EEXIST {
		t.Errorf("EEXIST ack: %v %v %v", e, ok, err)
	}
	if e, ok, err := parseAck(msg(unix.NLMSG_ERROR, 1, 0), 1); err != nil || !ok || e != 0 {
		t.Errorf("success ack: %v %v %v", e, ok, err)
	}
	if _, ok, err := parseAck(msg(unix.NLMSG_ERROR, 2, 0), 1); err != nil || ok {
		t.Errorf("other sequence taken: %v %v", ok, err)
	}
	bad := msg(unix.NLMSG_ERROR, 1, 0)
	binary.NativeEndian.PutUint32(bad, 1000)
	if _, _, err := parseAck(bad, 1); err == nil {
		t.Error("overlong message accepted")
	}
}

// routeTo returns the source address a UDP socket in ns would use toward
// dst, or the error of its connect (ENETUNREACH without a route).
func routeTo(t *testing.T, ns *NS, dst netip.Addr) (src netip.Addr, err error) {
	t.Helper()
	derr := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err = unix.Connect(fd, &unix.SockaddrInet4{Addr: dst.As4(), Port: 9}); err == nil {
			var sa unix.Sockaddr
			if sa, err = unix.Getsockname(fd); err == nil {
				src = netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr)
			}
		}
		return err
	})
	return src, derr
}

func TestServerRoutesPrefix(t *testing.T) {
	p := newTestPath(t, Config{})
	other := netip.MustParseAddr("198.19.200.7")
	if src, err := routeTo(t, p.Server, other); err != nil || src != p.ServerAddr {
		t.Errorf("server's route to %s: source %v, %v; want %s", other, src, err, p.ServerAddr)
	}
	if src, err := routeTo(t, p.Server, p.ClientAddr); err != nil || src != p.ServerAddr {
		t.Errorf("server's route to the client: source %v, %v", src, err)
	}
	if _, err := routeTo(t, p.Client, other); !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("client's route to %s: %v, want ENETUNREACH (it routes the server only)", other, err)
	}
	if _, err := routeTo(t, p.Server, netip.MustParseAddr("198.20.0.1")); !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("server routes beyond %s: %v", Prefix, err)
	}
	for _, ns := range []*NS{p.Client, p.Server} {
		var v string
		ns.Do(func() (err error) { v, err = kernel.ReadSysctl("", "net.ipv4.ip_forward"); return })
		if v != "0" {
			t.Errorf("%s namespace: net.ipv4.ip_forward %q, want 0", ns.Name(), v)
		}
	}
}

// checksum is the Internet checksum of b, added to sum.
func checksum(sum uint32, b []byte) uint16 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// TestSpoofedSYN sends one SYN from a source that is no address of either
// namespace from the client's, with the server's reverse-path filter
// strict: the server must take it (a SYN_RECV socket for that peer) and
// its SYN-ACK must cross the path back and be dropped in the client
// namespace.
func TestSpoofedSYN(t *testing.T) {
	p := newTestPath(t, Config{})
	var ln net.Listener
	err := p.Server.Do(func() error {
		for _, name := range []string{"net.ipv4.conf.all.rp_filter", "net/ipv4/conf/" + DeviceName + "/rp_filter"} {
			if err := kernel.WriteSysctl("", name, "1"); err != nil {
				return err
			}
		}
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(p.ServerAddr, 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	spoofed := netip.AddrPortFrom(netip.MustParseAddr("198.19.7.7"), 40000)

	pkt := tcpPacket(spoofed.Addr().As4(), p.ServerAddr.As4(), spoofed.Port(), port, 12345, synFlag)
	binary.BigEndian.PutUint16(pkt[14+20:], 64240) // window
	pseudo := make([]byte, 0, 12+20)
	pseudo = append(pseudo, pkt[12:20]...)
	pseudo = append(pseudo, 0, unix.IPPROTO_TCP, 0, 20)
	binary.BigEndian.PutUint16(pkt[20+16:], checksum(0, append(pseudo, pkt[20:]...)))
	binary.BigEndian.PutUint16(pkt[10:], checksum(0, pkt[:20]))

	counters := func(ns *NS) kernel.Counters {
		var c kernel.Counters
		if err := ns.Do(func() (err error) { c, err = kernel.ReadCounters("/proc/thread-self"); return }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	cli0, srv0, st0 := counters(p.Client), counters(p.Server), p.Stats()
	err = p.Client.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: p.ServerAddr.As4()})
	})
	if err != nil {
		t.Fatal(err)
	}
	var synRecv int
	var cli, srv kernel.Counters
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := p.Server.Do(func() error {
			s, err := kernel.NewSampler()
			if err != nil {
				return err
			}
			defer s.Close()
			smp, err := s.Sample(kernel.Filter{Remote: spoofed, States: kernel.MaskOf(kernel.StateSynRecv)})
			synRecv = smp.States[kernel.StateSynRecv]
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		cli = counters(p.Client).Delta(cli0)
		srv = counters(p.Server).Delta(srv0)
		if synRecv == 1 && cli["Ip.InAddrErrors"] >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spoofed SYN: %d SYN_RECV sockets for %s on the server (want 1); server Ip.InReceives %d, TcpExt.IPReversePathFilter %d, Ip.OutNoRoutes %d; client Ip.InReceives %d, Ip.InAddrErrors %d (want ≥ 1)",
				synRecv, spoofed, srv["Ip.InReceives"], srv["TcpExt.IPReversePathFilter"], srv["Ip.OutNoRoutes"], cli["Ip.InReceives"], cli["Ip.InAddrErrors"])
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := cli["Icmp.OutDestUnreachs"]; n != 0 {
		t.Errorf("client namespace sent %d ICMP unreachables for the SYN-ACK", n)
	}
	if d := p.Stats().ServerToClient.Packets - st0.ServerToClient.Packets; d < 1 {
		t.Errorf("%d packets crossed server→client, want the SYN-ACK", d)
	}
	t.Logf("server: Tcp.PassiveOpens %d, TcpExt.IPReversePathFilter %d; client: Ip.InAddrErrors %d",
		srv["Tcp.PassiveOpens"], srv["TcpExt.IPReversePathFilter"], cli["Ip.InAddrErrors"])
}

package dialer

import (
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/connbench/connbench/internal/sock"
	"golang.org/x/sys/unix"
)

// rawAddr is a socket address in the kernel's layout, kept by value so that
// connect() and bind() never allocate.
type rawAddr struct {
	v4  unix.RawSockaddrInet4
	v6  unix.RawSockaddrInet6
	six bool
}

func makeRaw(ap netip.AddrPort) rawAddr {
	var r rawAddr
	a := ap.Addr().Unmap()
	port := ap.Port()
	if a.Is4() {
		r.v4.Family = unix.AF_INET
		r.v4.Addr = a.As4()
		p := (*[2]byte)(unsafe.Pointer(&r.v4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		return r
	}
	r.six = true
	r.v6.Family = unix.AF_INET6
	r.v6.Addr = a.As16()
	r.v6.Scope_id = zoneIndex(a.Zone())
	p := (*[2]byte)(unsafe.Pointer(&r.v6.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	return r
}

func (r *rawAddr) ptr() (unsafe.Pointer, uint32) {
	if r.six {
		return unsafe.Pointer(&r.v6), unix.SizeofSockaddrInet6
	}
	return unsafe.Pointer(&r.v4), unix.SizeofSockaddrInet4
}

func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := netInterfaceIndex(zone); err == nil {
		return ifi
	}
	return 0
}

// Dialer opens client sockets toward one target with one set of options.
// It is read-only after New and may be shared by several loops.
type Dialer struct {
	target  rawAddr
	family  int
	opts    Options
	sources []rawAddr
}

// New checks the target and options and precomputes the raw addresses.
// Errors name the offending value: an unspecified or port-0 target, a source
// of another address family, a port range with lo > hi.
func New(target netip.AddrPort, o Options) (*Dialer, error) {
	if !target.IsValid() || target.Addr().IsUnspecified() {
		return nil, fmt.Errorf("dialer: target %s: need a specific address", target)
	}
	if target.Port() == 0 {
		return nil, fmt.Errorf("dialer: target %s: port 0", target)
	}
	d := &Dialer{target: makeRaw(target), opts: o, family: unix.AF_INET}
	if d.target.six {
		d.family = unix.AF_INET6
	}
	for _, s := range o.Sources {
		if s.Unmap().Is4() != target.Addr().Unmap().Is4() {
			return nil, fmt.Errorf("dialer: source %s and target %s are of different address families", s, target)
		}
		d.sources = append(d.sources, makeRaw(netip.AddrPortFrom(s, 0)))
	}
	lo, hi := o.LocalPortRange[0], o.LocalPortRange[1]
	if (lo == 0) != (hi == 0) || lo > hi {
		return nil, fmt.Errorf("dialer: local port range %d-%d: want LO-HI with 0 < LO <= HI", lo, hi)
	}
	return d, nil
}

// Options returns the options the dialer applies.
func (d *Dialer) Options() Options { return d.opts }

// NumSources is the number of source addresses rotated over (0: none bound).
func (d *Dialer) NumSources() int { return len(d.sources) }

// Open creates a non-blocking socket with the options applied, bound to
// source number src (modulo the number of sources) when sources are set.
// The caller owns the descriptor. Errors are the syscall's errno, wrapped
// with the step that failed, so Classify and errors.Is work on them.
func (d *Dialer) Open(src int) (int, error) {
	fd, err := sock.Socket(d.family)
	if err != nil {
		return -1, &OpError{Op: "socket", Err: err}
	}
	if err := d.apply(fd, src); err != nil {
		sock.Close(fd)
		return -1, err
	}
	return fd, nil
}

var lingerRST = unix.Linger{Onoff: 1, Linger: 0}

func (d *Dialer) apply(fd, src int) error {
	o := &d.opts
	if o.NoDelay {
		if err := sock.SetInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return &OpError{Op: "setsockopt TCP_NODELAY", Err: err}
		}
	}
	if o.ReuseAddr {
		if err := sock.SetInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return &OpError{Op: "setsockopt SO_REUSEADDR", Err: err}
		}
	}
	if o.Close == CloseRST {
		if err := sock.SetBytes(fd, unix.SOL_SOCKET, unix.SO_LINGER, unsafe.Pointer(&lingerRST), unix.SizeofLinger); err != nil {
			return &OpError{Op: "setsockopt SO_LINGER", Err: err}
		}
	}
	if o.SendBuffer > 0 {
		if err := sock.SetInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, o.SendBuffer); err != nil {
			return &OpError{Op: "setsockopt SO_SNDBUF", Err: err}
		}
	}
	if o.RecvBuffer > 0 {
		if err := sock.SetInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.RecvBuffer); err != nil {
			return &OpError{Op: "setsockopt SO_RCVBUF", Err: err}
		}
	}
	if lo, hi := o.LocalPortRange[0], o.LocalPortRange[1]; lo != 0 {
		if err := sock.SetInt(fd, unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, int(uint32(lo)|uint32(hi)<<16)); err != nil {
			if errors.Is(err, unix.ENOPROTOOPT) {
				return &OpError{Op: "setsockopt IP_LOCAL_PORT_RANGE (needs Linux >= 6.3)", Err: err}
			}
			return &OpError{Op: "setsockopt IP_LOCAL_PORT_RANGE", Err: err}
		}
	}
	if o.BindNoPort || len(d.sources) > 0 {
		// Without this, bind(addr, 0) picks a port with only the local
		// address known: it can never reuse a TIME_WAIT port and fails
		// long before the 4-tuples run out.
		if err := sock.SetInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return &OpError{Op: "setsockopt IP_BIND_ADDRESS_NO_PORT", Err: err}
		}
	}
	if o.FastOpen == FastOpenConnect {
		if err := sock.SetInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1); err != nil {
			return &OpError{Op: "setsockopt TCP_FASTOPEN_CONNECT", Err: err}
		}
	}
	if len(d.sources) > 0 {
		s := &d.sources[src%len(d.sources)]
		p, l := s.ptr()
		if err := sock.Bind(fd, p, l); err != nil {
			return &OpError{Op: "bind", Err: err}
		}
	}
	return nil
}

// Reuses reports whether a connection's socket may be left to the next
// connection (Reset): no source addresses to rotate (a bound address stays
// with the socket) and no Fast Open, unless NewSocket is set.
func (d *Dialer) Reuses() bool {
	o := &d.opts
	return len(d.sources) == 0 && o.FastOpen == FastOpenOff && !o.NewSocket
}

// ErrStillClosing is Reset's answer, with --close fin, for a connection
// whose graceful close has not finished: the caller closes the socket and
// the kernel finishes the close, as after any close().
var ErrStillClosing = errors.New("connection still closing")

// Reset ends fd's connection and keeps the socket for the next Connect.
//
// With --close rst, connect(AF_UNSPEC) runs tcp_disconnect, the very
// function close() runs with SO_LINGER 0, so the peer sees the same RST, no
// TIME_WAIT is left and the local port is released.
//
// With --close fin, shutdown(SHUT_WR) sends the FIN close() would send.
// When the peer closed first (CLOSE_WAIT), on loopback its ACK of that FIN
// is usually processed within the call, leaving the socket CLOSED (the port
// released, and no TIME_WAIT on this side, as the peer closed first), and
// connect(AF_UNSPEC) on a closed socket sends nothing. In any other state
// (this side closed first and waits for the peer's FIN, or the ACK has not
// come) Reset returns ErrStillClosing and the caller's close() lets the
// kernel finish as it would have: on the wire the same segments as close().
//
// Either way the socket keeps its options, its descriptor and its epoll
// registration, which saves socket(), its setsockopt calls, epoll_ctl and
// close() per connection. On error the caller closes fd.
func (d *Dialer) Reset(fd int) error {
	if d.opts.Close == CloseFIN {
		if err := sock.ShutdownWrite(fd); err != nil {
			return &OpError{Op: "shutdown", Err: err}
		}
		st, err := sock.TCPState(fd)
		if err != nil {
			return &OpError{Op: "getsockopt TCP_INFO", Err: err}
		}
		if st != sock.TCPClose {
			return ErrStillClosing
		}
	}
	if err := sock.Disconnect(fd); err != nil {
		return &OpError{Op: "connect AF_UNSPEC", Err: err}
	}
	return nil
}

// Connect starts the handshake on fd. It returns nil when the connection
// completed at once, unix.EINPROGRESS while it is pending (wait for the
// socket to become writable, then check SocketError), or the failure.
func (d *Dialer) Connect(fd int) error {
	p, l := d.target.ptr()
	err := sock.Connect(fd, p, l)
	if err == nil || err == unix.EINPROGRESS {
		return err
	}
	return &OpError{Op: "connect", Err: err}
}

// SendFastOpen connects fd and sends data in its SYN with
// sendto(MSG_FASTOPEN) (FastOpenSendto). It returns how many bytes were
// queued (ridden in the SYN when a cookie was cached; the handshake is
// still pending either way: wait for writability as after Connect), or
// unix.EINPROGRESS with nothing queued when no cookie was cached (the SYN
// asks for one; write the data once connected), or the failure.
// EOPNOTSUPP means the client bit (0x1) of net.ipv4.tcp_fastopen is off.
func (d *Dialer) SendFastOpen(fd int, data []byte) (int, error) {
	p, l := d.target.ptr()
	n, err := sock.SendTo(fd, data, unix.MSG_FASTOPEN, p, l)
	if err == nil || err == unix.EINPROGRESS {
		return n, err
	}
	return 0, &OpError{Op: "sendto MSG_FASTOPEN", Err: err}
}

// TCPInfo is what connbench reads of a socket's TCP_INFO after its
// handshake.
type TCPInfo struct {
	// SYNData: the SYN carried data and the server acknowledged it
	// (tcpi_options & TCPI_OPT_SYN_DATA): Fast Open worked.
	SYNData bool
	// Retrans is the number of segments retransmitted so far
	// (tcpi_total_retrans); right after the handshake, SYN retransmissions.
	Retrans uint32
	// RTO is the number of retransmission timeouts (tcpi_total_rto),
	// HasRTO whether the kernel reports it (Linux >= 6.7).
	RTO    uint16
	HasRTO bool
}

// tcpiOptSYNData is TCPI_OPT_SYN_DATA from linux/tcp.h.
const tcpiOptSYNData = 0x20

// offTotalRTO is where tcpi_total_rto ends in struct tcp_info: a kernel that
// fills fewer bytes predates it.
var offTotalRTO = uint32(unsafe.Offsetof(unix.TCPInfo{}.Total_rto) + 2)

// ReadTCPInfo reads fd's TCP_INFO into buf (kept by the caller so the hot
// path does not allocate).
func ReadTCPInfo(fd int, buf *unix.TCPInfo) (TCPInfo, error) {
	n, err := sock.GetBytes(fd, unix.IPPROTO_TCP, unix.TCP_INFO, unsafe.Pointer(buf), unix.SizeofTCPInfo)
	if err != nil {
		return TCPInfo{}, &OpError{Op: "getsockopt TCP_INFO", Err: err}
	}
	i := TCPInfo{SYNData: buf.Options&tcpiOptSYNData != 0, Retrans: buf.Total_retrans}
	if n >= offTotalRTO {
		i.RTO, i.HasRTO = buf.Total_rto, true
	}
	return i, nil
}

// SocketError returns the pending error of fd (SO_ERROR), nil if none.
func SocketError(fd int) error {
	v, err := sock.GetInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return &OpError{Op: "getsockopt SO_ERROR", Err: err}
	}
	if v != 0 {
		return &OpError{Op: "connect", Err: unix.Errno(v)}
	}
	return nil
}

// OpError is a failed socket step and its errno.
type OpError struct {
	Op  string // the syscall or option, e.g. "connect", "setsockopt TCP_NODELAY"
	Err error  // the cause, usually a unix.Errno
}

func (e *OpError) Error() string { return "dialer: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

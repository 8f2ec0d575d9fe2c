package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI of NETLINK_SOCK_DIAG for inet sockets (include/uapi/linux/
// inet_diag.h and sock_diag.h). Multi-byte fields are in host byte order
// except the ports and addresses, which are in network byte order.

// inetDiagSockID is struct inet_diag_sockid.
type inetDiagSockID struct {
	Sport  [2]byte  // __be16
	Dport  [2]byte  // __be16
	Src    [16]byte // __be32[4]; an IPv4 address in the first 4 bytes
	Dst    [16]byte // __be32[4]
	If     uint32
	Cookie [2]uint32
}

// inetDiagReqV2 is struct inet_diag_req_v2, the body of a
// SOCK_DIAG_BY_FAMILY request.
type inetDiagReqV2 struct {
	Family   uint8
	Protocol uint8
	Ext      uint8
	Pad      uint8
	States   uint32 // bit 1<<state for each state to dump
	ID       inetDiagSockID
}

// inetDiagMsg is struct inet_diag_msg, the body of each SOCK_DIAG_BY_FAMILY
// reply; timewait and request sockets use the same layout.
type inetDiagMsg struct {
	Family  uint8
	State   uint8
	Timer   uint8
	Retrans uint8
	ID      inetDiagSockID
	Expires uint32
	Rqueue  uint32
	Wqueue  uint32
	UID     uint32
	Inode   uint32
}

// inetDiagBcOp is struct inet_diag_bc_op, one instruction of a filter
// program. Every instruction is a forward jump: by Yes bytes when its
// condition holds, by No bytes when not. Reaching exactly the end of the
// program accepts the socket; jumping 4 bytes past it rejects it.
type inetDiagBcOp struct {
	Code uint8
	Yes  uint8
	No   uint16
}

// inetDiagHostcond is struct inet_diag_hostcond, the operand of
// INET_DIAG_BC_S_COND and INET_DIAG_BC_D_COND; the address (4 or 16 bytes,
// network order) follows it.
type inetDiagHostcond struct {
	Family    uint8
	PrefixLen uint8 // bits of the address to compare; 0 = any address
	_         [2]byte
	Port      int32 // host order; -1 = any port
}

const (
	sizeofNlMsghdr    = int(unsafe.Sizeof(unix.NlMsghdr{}))    // 16
	sizeofReqV2       = int(unsafe.Sizeof(inetDiagReqV2{}))    // 56
	sizeofDiagMsg     = int(unsafe.Sizeof(inetDiagMsg{}))      // 72
	sizeofBcOp        = int(unsafe.Sizeof(inetDiagBcOp{}))     // 4
	sizeofHostcond    = int(unsafe.Sizeof(inetDiagHostcond{})) // 8
	sizeofNlAttr      = 4
	inetDiagReqBCAttr = 1 // INET_DIAG_REQ_BYTECODE
	bcSCond           = 7 // INET_DIAG_BC_S_COND
	bcDCond           = 8 // INET_DIAG_BC_D_COND
	tcpNewSynRecv     = 12
	recvBufSize       = 64 << 10 // dump skbs are at most 32 KiB
	maxRecvBufSize    = 1 << 20  // the most a datagram's size may grow the buffer to
	maxErrno          = 4095     // the kernel's MAX_ERRNO: error codes are -1..-4095
	recvTimeoutSec    = 10
)

// testBadOpcode, set by tests only, replaces the filter program's opcodes
// with one the kernel rejects, to exercise the user-space fallback.
var testBadOpcode uint8

// errBytecodeRejected reports that the kernel refused a filter program.
var errBytecodeRejected = errors.New("filter program rejected")

func (s *Sampler) open() error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("kernel: sock_diag socket: %w", err)
	}
	// A dump always ends in NLMSG_DONE; the timeout only bounds a kernel
	// that never answers.
	tv := unix.Timeval{Sec: recvTimeoutSec}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return fmt.Errorf("kernel: sock_diag setsockopt SO_RCVTIMEO: %w", err)
	}
	s.fd = fd
	if s.buf == nil {
		s.buf = make([]byte, recvBufSize)
	}
	if s.req == nil {
		s.req = make([]byte, 0, 256)
	}
	return nil
}

func (s *Sampler) close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	if err != nil {
		return fmt.Errorf("kernel: sock_diag close: %w", err)
	}
	return nil
}

// filterFamilies returns the address families to dump for f.
func filterFamilies(f Filter) (fams [2]int, n int, err error) {
	fam := f.Family
	if fam != 0 && fam != unix.AF_INET && fam != unix.AF_INET6 {
		return fams, 0, fmt.Errorf("kernel: sock_diag: %w: family %d", ErrBadFilter, fam)
	}
	for _, a := range [2]netip.Addr{f.Remote.Addr(), f.Local.Addr()} {
		if !a.IsValid() {
			continue
		}
		af := unix.AF_INET6
		if a.Is4() {
			af = unix.AF_INET
		}
		if fam == 0 {
			fam = af
		} else if fam != af {
			return fams, 0, fmt.Errorf("kernel: sock_diag: %w: address %v is not of family %d", ErrBadFilter, a, fam)
		}
	}
	if fam != 0 {
		fams[0] = fam
		return fams, 1, nil
	}
	fams[0], fams[1] = unix.AF_INET, unix.AF_INET6
	return fams, 2, nil
}

// active reports whether ap restricts anything.
func active(ap netip.AddrPort) bool { return ap.Addr().IsValid() || ap.Port() != 0 }

// kernelStates turns m into the idiag_states of a request. Pending
// connection requests live in the kernel as TCP_NEW_SYN_RECV (12) and are
// reported as SYN_RECV. Bit 12 is asked for along with SYN_RECV; 6.18 adds
// it by itself, this keeps the count right where a kernel does not.
func kernelStates(m StateMask) uint32 {
	k := uint32(m & AllStates)
	if m.Has(StateSynRecv) {
		k |= 1 << tcpNewSynRecv
	}
	return k
}

func (s *Sampler) sample(f Filter) (Sample, error) {
	var out Sample
	if s.closed {
		return out, fmt.Errorf("kernel: sock_diag: %w", os.ErrClosed)
	}
	fams, nf, err := filterFamilies(f)
	if err != nil {
		return out, err
	}
	if s.fd < 0 {
		if err := s.open(); err != nil {
			return out, err
		}
	}
	states := f.States
	if states == 0 {
		states = AllStates
	}
	clear(s.ports[:])
	s.received = 0
	useBC := active(f.Remote) || active(f.Local)
	for _, fam := range fams[:nf] {
		err := errBytecodeRejected
		if useBC && !s.noBytecode {
			err = s.dump(fam, f, states, true, &out)
			if errors.Is(err, errBytecodeRejected) {
				s.noBytecode = true
			}
		}
		if errors.Is(err, errBytecodeRejected) {
			err = s.dump(fam, f, states, false, &out)
		}
		if err != nil {
			return Sample{}, err
		}
	}
	for _, w := range s.ports {
		out.LocalPorts += bits.OnesCount64(w)
	}
	return out, nil
}

// request builds the SOCK_DIAG_BY_FAMILY dump request for one family in s.req.
func (s *Sampler) request(fam int, f Filter, states StateMask, bc bool) []byte {
	b := s.req[:sizeofNlMsghdr+sizeofReqV2]
	clear(b)
	r := (*inetDiagReqV2)(unsafe.Pointer(&b[sizeofNlMsghdr]))
	*r = inetDiagReqV2{
		Family:   uint8(fam),
		Protocol: unix.IPPROTO_TCP,
		States:   kernelStates(states),
	}
	// A dump skips sockets whose ports differ from non-zero ports in the
	// request's id before it runs the filter program.
	binary.BigEndian.PutUint16(r.ID.Dport[:], f.Remote.Port())
	binary.BigEndian.PutUint16(r.ID.Sport[:], f.Local.Port())
	if bc {
		b = appendBytecodeAttr(b, fam, f)
	}
	*(*unix.NlMsghdr)(unsafe.Pointer(&b[0])) = unix.NlMsghdr{
		Len:   uint32(len(b)),
		Type:  unix.SOCK_DIAG_BY_FAMILY,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP,
		Seq:   s.seq,
	}
	s.req = b[:0]
	return b
}

// appendBytecodeAttr appends an INET_DIAG_REQ_BYTECODE attribute whose
// program accepts the sockets of family fam matching f: one S_COND or
// D_COND instruction per active end, each rejecting on mismatch.
func appendBytecodeAttr(b []byte, fam int, f Filter) []byte {
	type cond struct {
		code uint8
		ap   netip.AddrPort
	}
	var conds [2]cond
	n := 0
	if active(f.Remote) {
		conds[n] = cond{bcDCond, f.Remote}
		n++
	}
	if active(f.Local) {
		conds[n] = cond{bcSCond, f.Local}
		n++
	}
	alen := 4
	if fam == unix.AF_INET6 {
		alen = 16
	}
	size := sizeofBcOp + sizeofHostcond + alen
	total := n * size
	ne := binary.NativeEndian
	b = ne.AppendUint16(b, uint16(sizeofNlAttr+total))
	b = ne.AppendUint16(b, inetDiagReqBCAttr)
	for i, c := range conds[:n] {
		// Yes falls through to the next instruction (or accepts at the
		// end); No jumps to 4 bytes past the end, which rejects.
		code := c.code
		if testBadOpcode != 0 {
			code = testBadOpcode
		}
		b = append(b, code, uint8(size))
		b = ne.AppendUint16(b, uint16(total-i*size+4))
		a := c.ap.Addr()
		prefix := 0
		if a.IsValid() && !a.IsUnspecified() {
			prefix = a.BitLen()
		}
		port := int32(-1)
		if c.ap.Port() != 0 {
			port = int32(c.ap.Port())
		}
		b = append(b, uint8(fam), uint8(prefix), 0, 0)
		b = ne.AppendUint32(b, uint32(port))
		b = appendAddr(b, a, alen)
	}
	return b // total is a multiple of 4: no attribute padding needed
}

// appendAddr appends a in network order as alen bytes (zeros if a is
// invalid).
func appendAddr(b []byte, a netip.Addr, alen int) []byte {
	switch {
	case alen == 4 && a.Is4():
		v := a.As4()
		return append(b, v[:]...)
	case alen == 16 && a.IsValid():
		v := a.As16()
		return append(b, v[:]...)
	}
	var z [16]byte
	return append(b, z[:alen]...)
}

// matchEnd reports whether the port and address of one end of a socket
// (port in host order, addr the 16-byte field of inet_diag_sockid) match
// the filter end want.
func matchEnd(want netip.AddrPort, port uint16, addr *[16]byte) bool {
	if p := want.Port(); p != 0 && p != port {
		return false
	}
	a := want.Addr()
	if !a.IsValid() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		v := a.As4()
		return [4]byte(addr[:4]) == v
	}
	return a.As16() == *addr
}

// dump runs one dump of family fam and adds the matching sockets to out.
// With bc the kernel filters; the filter is applied here again either way.
func (s *Sampler) dump(fam int, f Filter, states StateMask, bc bool, out *Sample) error {
	s.seq++
	req := s.request(fam, f, states, bc)
	if err := s.send(req); err != nil {
		s.close()
		return fmt.Errorf("kernel: sock_diag send: %w", err)
	}
	fremote, flocal := active(f.Remote), active(f.Local)
	got := false
	for {
		n, err := s.recv()
		if err != nil {
			s.close()
			return fmt.Errorf("kernel: sock_diag recv: %w", err)
		}
		b := s.buf[:n]
		for {
			var m diagMsg
			m, b, err = nextDiag(b, s.seq)
			if err != nil {
				s.close()
				return fmt.Errorf("kernel: sock_diag recv: %w", err)
			}
			switch m.kind {
			case diagDone:
				if m.errno != 0 {
					return fmt.Errorf("kernel: sock_diag dump: %w", m.errno)
				}
				return nil
			case diagError:
				if bc && !got && m.errno == unix.EINVAL {
					return fmt.Errorf("kernel: sock_diag: %w: %w", errBytecodeRejected, m.errno)
				}
				return fmt.Errorf("kernel: sock_diag: %w", m.errno)
			case diagSocket:
				got = true
				s.received++
				if fremote && !matchEnd(f.Remote, m.dport, &m.dst) {
					continue
				}
				if flocal && !matchEnd(f.Local, m.sport, &m.src) {
					continue
				}
				st := State(m.state)
				if st == tcpNewSynRecv {
					st = StateSynRecv
				}
				if st == 0 || st >= NumStates || !states.Has(st) {
					continue
				}
				out.States[st]++
				s.ports[m.sport>>6] |= 1 << (m.sport & 63)
				continue
			}
			break // diagEnd: the datagram is used up
		}
	}
}

// diagKind says what nextDiag found.
type diagKind uint8

const (
	diagEnd    diagKind = iota // no whole message left in the datagram
	diagSocket                 // a socket of the dump
	diagDone                   // NLMSG_DONE: the dump is over
	diagError                  // NLMSG_ERROR other than an acknowledgement
)

// diagMsg is one message of a SOCK_DIAG_BY_FAMILY dump, decoded.
type diagMsg struct {
	kind  diagKind
	errno unix.Errno // diagError: the kernel's error; diagDone: the dump's, or 0

	// diagSocket: the socket's state and ends, ports in host order and
	// addresses as the 16-byte fields of inet_diag_sockid.
	state        uint8
	sport, dport uint16
	src, dst     [16]byte
}

// nextDiag decodes the first message of b, a datagram (or what is left of
// one) of the dump with sequence number seq, that matters to that dump,
// and returns it with the rest of b. Messages of other sequence numbers
// (left over from an earlier dump) and acknowledgements are skipped. It
// reads only inside b: a message length shorter than a header or longer
// than what is left, a socket message too short for inet_diag_msg, an
// NLMSG_ERROR without its error code, or an error code that is not -1 to
// -4095 (0 too, in NLMSG_ERROR) gives an error wrapping ErrMalformed.
// Trailing bytes too few for a header are ignored, as the kernel never
// sends them.
func nextDiag(b []byte, seq uint32) (diagMsg, []byte, error) {
	ne := binary.NativeEndian
	for len(b) >= sizeofNlMsghdr {
		l := ne.Uint32(b[0:4])
		if l < uint32(sizeofNlMsghdr) || l > uint32(len(b)) {
			return diagMsg{}, nil, fmt.Errorf("%w: message length %d of %d", ErrMalformed, l, len(b))
		}
		typ, mseq := ne.Uint16(b[4:6]), ne.Uint32(b[8:12])
		body := b[sizeofNlMsghdr:l]
		b = b[min(int(l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
		if mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE:
			m := diagMsg{kind: diagDone}
			if len(body) >= 4 {
				e := int32(ne.Uint32(body))
				if e < -maxErrno {
					return diagMsg{}, nil, fmt.Errorf("%w: dump error %d is not an errno", ErrMalformed, e)
				}
				if e < 0 {
					m.errno = unix.Errno(-e)
				}
			}
			return m, b, nil
		case unix.NLMSG_ERROR:
			if len(body) < 4 {
				return diagMsg{}, nil, fmt.Errorf("%w: error message of %d bytes", ErrMalformed, len(body))
			}
			e := int32(ne.Uint32(body))
			if e == 0 {
				continue // an acknowledgement
			}
			if e > 0 || e < -maxErrno {
				return diagMsg{}, nil, fmt.Errorf("%w: error code %d is not an errno", ErrMalformed, e)
			}
			return diagMsg{kind: diagError, errno: unix.Errno(-e)}, b, nil
		case unix.SOCK_DIAG_BY_FAMILY:
			if len(body) < sizeofDiagMsg {
				return diagMsg{}, nil, fmt.Errorf("%w: socket message of %d bytes", ErrMalformed, len(body))
			}
			// inet_diag_msg: family, state, timer, retrans, then
			// inet_diag_sockid: sport, dport, src[16], dst[16], ...
			m := diagMsg{kind: diagSocket, state: body[1]}
			m.sport = binary.BigEndian.Uint16(body[4:6])
			m.dport = binary.BigEndian.Uint16(body[6:8])
			m.src = [16]byte(body[8:24])
			m.dst = [16]byte(body[24:40])
			return m, b, nil
		}
	}
	return diagMsg{kind: diagEnd}, nil, nil
}

// send sends req to the kernel (an unconnected netlink socket's default
// destination) without allocating.
func (s *Sampler) send(req []byte) error {
	for {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&req[0])),
			uintptr(len(req)), 0, 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

// recv reads one datagram into s.buf without allocating.
func (s *Sampler) recv() (int, error) {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&s.buf[0])),
			uintptr(len(s.buf)), unix.MSG_TRUNC, 0, 0)
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, fmt.Errorf("no reply in %d s: %w", recvTimeoutSec, e)
		default:
			return 0, e
		}
		if int(n) > len(s.buf) {
			// The datagram was cut: this dump is lost, the next one
			// gets a buffer large enough, up to maxRecvBufSize.
			if int(n) <= maxRecvBufSize {
				s.buf = make([]byte, (int(n)+4095)&^4095)
			}
			return 0, fmt.Errorf("%w: %d-byte datagram truncated", ErrMalformed, n)
		}
		return int(n), nil
	}
}

// Package sock holds the raw, allocation-free socket syscalls that the event
// loops of the dialer, the listener and the workloads call on their hot path.
//
// Every call here is made with unix.RawSyscall, which skips the Go scheduler's
// entersyscall/exitsyscall bookkeeping. That is only correct for calls that
// never block, so every descriptor passed in must be non-blocking, and close
// must not be asked to linger with a non-zero timeout. Blocking waits
// (epoll_wait with a timeout) go through unix.EpollWait instead.
package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// errno turns a raw errno into an error without allocating (unix.Errno is a
// uintptr-sized value).
func errno(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Socket creates a non-blocking, close-on-exec TCP socket of the given family.
func Socket(family int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// Connect starts a connect on a non-blocking socket to the raw address sa of
// length salen. It returns unix.EINPROGRESS while the handshake is pending.
func Connect(fd int, sa unsafe.Pointer, salen uint32) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa), uintptr(salen))
	return errno(e)
}

// unspec is the address connect() takes to dissolve a connection.
var unspec = unix.RawSockaddr{Family: unix.AF_UNSPEC}

// Disconnect dissolves fd's association with connect(AF_UNSPEC): for TCP
// the kernel's tcp_disconnect, the path close() takes with SO_LINGER 0 (an
// established connection is reset), leaving the socket open, unconnected
// and with its options, ready to connect again.
func Disconnect(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&unspec)), unsafe.Sizeof(unspec))
	return errno(e)
}

// TCPClose is the kernel's TCP_CLOSE (tcp_states.h), as TCPState reads it.
const TCPClose = 7

// TCPState reads fd's TCP state: getsockopt(TCP_INFO) cut to its first
// byte, tcpi_state.
func TCPState(fd int) (uint8, error) {
	var st uint8
	_, err := GetBytes(fd, unix.SOL_TCP, unix.TCP_INFO, unsafe.Pointer(&st), 1)
	return st, err
}

// ShutdownWrite ends fd's sending side: the kernel sends a FIN after what is
// queued, as close() would.
func ShutdownWrite(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0)
	return errno(e)
}

// Bind binds fd to the raw address sa of length salen.
func Bind(fd int, sa unsafe.Pointer, salen uint32) error {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(sa), uintptr(salen))
	return errno(e)
}

// SetInt sets an integer socket option.
func SetInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), 4, 0)
	return errno(e)
}

// SetBytes sets a socket option whose value is the raw bytes at p, n long.
func SetBytes(fd, level, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), n, 0)
	return errno(e)
}

// GetInt reads an integer socket option.
func GetInt(fd, level, opt int) (int, error) {
	var v int32
	n := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// GetBytes reads a socket option into the n bytes at p and returns how many
// the kernel filled (an older kernel fills fewer of a grown struct).
func GetBytes(fd, level, opt int, p unsafe.Pointer, n uint32) (uint32, error) {
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, e
	}
	return n, nil
}

// Read reads into b from a non-blocking descriptor. It returns unix.EAGAIN
// when nothing is there, and (0, nil) at end of stream.
func Read(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Write writes b to a non-blocking descriptor and returns how much went.
func Write(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Recv reads into b from a non-blocking socket, as Read does, with
// recvfrom(2): the socket call path, without read(2)'s file layer.
func Recv(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Send writes b to a non-blocking socket, as Write does, with sendto(2)
// and MSG_NOSIGNAL (a peer that reset gives EPIPE, never SIGPIPE).
func Send(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return SendTo(fd, b, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, nil, 0)
}

// SendTo sends b with flags to the raw address sa (used for MSG_FASTOPEN,
// which connects and sends the data in the SYN in one call).
func SendTo(fd int, b []byte, flags int, sa unsafe.Pointer, salen uint32) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)), uintptr(flags), uintptr(sa), uintptr(salen))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Close closes a descriptor. Closing a socket is non-blocking unless it has
// SO_LINGER with a non-zero timeout, which this project never sets.
func Close(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno(e)
}

// Accept accepts one connection from a non-blocking listening socket as a
// non-blocking, close-on-exec descriptor. When sa is non-nil the peer address
// is written there. It returns unix.EAGAIN when the queue is empty.
func Accept(fd int, sa *unix.RawSockaddrAny) (int, error) {
	var p, lp unsafe.Pointer
	var l uint32
	if sa != nil {
		l = unix.SizeofSockaddrAny
		p, lp = unsafe.Pointer(sa), unsafe.Pointer(&l)
	}
	nfd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(p), uintptr(lp), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(nfd), nil
}

// EpollCtl adds, modifies or deletes fd in the epoll set epfd.
func EpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errno(e)
}

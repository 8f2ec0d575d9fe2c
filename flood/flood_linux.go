package flood

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// openSender checks that the calling thread is in a namespace of its own
// whose route to target leaves from an address inside Range (checkNamespace),
// then opens a raw IPv4 socket (IPPROTO_RAW: IP_HDRINCL, the packet carries
// its own IP header) there, connected to target's address so that each SYN
// is one write(2) without a destination to convert. It is non-blocking: a
// SYN that finds the socket's send buffer full fails with EAGAIN and is
// counted as an error rather than stalling the pacing.
func openSender(target netip.AddrPort) (send func([]byte) error, cls func() error, err error) {
	if err := checkNamespace(target.Addr()); err != nil {
		return nil, nil, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, nil, fmt.Errorf("flood: a raw socket needs CAP_NET_RAW: %w", err)
		}
		return nil, nil, fmt.Errorf("flood: raw socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: target.Addr().As4()}); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("flood: connect raw socket to %s: %w", target.Addr(), err)
	}
	send = func(p []byte) error {
		for {
			_, err := unix.Write(fd, p)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("flood: send: %w", err)
			}
			return nil
		}
	}
	return send, func() error { return unix.Close(fd) }, nil
}

// errHostNamespace is returned by Start on a thread in the process's own
// network namespace.
var errHostNamespace = errors.New("flood: Start must run on a thread inside the client namespace of an emulated path (netpath's NS.Do or NS.Go), not in the process's own network namespace")

// checkNamespace refuses to flood unless the calling thread is in another
// network namespace than the process's main thread (netpath never moves
// the main thread) and that namespace reaches target from an address
// inside Range, as netpath's client namespace does (from 198.18.0.1) and a
// host with a default route does not. Neither check sends anything.
func checkNamespace(target netip.Addr) error {
	var self, main unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &self); err != nil {
		return fmt.Errorf("flood: network namespace of this thread: %w", err)
	}
	if err := unix.Stat("/proc/self/ns/net", &main); err != nil {
		return fmt.Errorf("flood: network namespace of the process: %w", err)
	}
	if self.Dev == main.Dev && self.Ino == main.Ino {
		return errHostNamespace
	}
	// A UDP connect chooses the route and the source address and sends
	// nothing.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("flood: socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: target.As4(), Port: 9}); err != nil {
		return fmt.Errorf("flood: this namespace has no route to %s (%w): %s", target, err, errOutsideRange)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("flood: getsockname: %w", err)
	}
	src := netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr)
	if !Range.Contains(src) {
		return fmt.Errorf("flood: this namespace reaches %s from %s, outside %s: %s", target, src, Range, errOutsideRange)
	}
	return nil
}

// Package dialer creates client TCP sockets for the event loops: the socket
// options as a plain struct whose zero value means "kernel default", the
// target and source addresses in raw form (so the hot path never allocates),
// non-blocking connect, and the classification of what went wrong.
//
// The package does not wait for anything: the caller's event loop owns the
// descriptors and watches them with epoll.
package dialer

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// CloseMode says how a client ends its connections.
type CloseMode uint8

const (
	// CloseFIN is the graceful close (close(2) sends FIN). The side that
	// closes first holds TIME_WAIT for 60 s on Linux. It is the zero value.
	CloseFIN CloseMode = iota
	// CloseRST aborts with SO_LINGER {on, 0}: close(2) sends RST and no
	// TIME_WAIT is left behind.
	CloseRST
)

// String returns "fin" or "rst".
func (m CloseMode) String() string {
	if m == CloseRST {
		return "rst"
	}
	return "fin"
}

// ParseCloseMode parses "fin" or "rst".
func ParseCloseMode(s string) (CloseMode, error) {
	switch strings.ToLower(s) {
	case "fin", "":
		return CloseFIN, nil
	case "rst":
		return CloseRST, nil
	}
	return 0, fmt.Errorf("dialer: close mode %q: want fin or rst", s)
}

// MarshalText makes CloseMode echo as "fin"/"rst" in JSON.
func (m CloseMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses "fin"/"rst".
func (m *CloseMode) UnmarshalText(b []byte) error {
	v, err := ParseCloseMode(string(b))
	*m = v
	return err
}

// FastOpenMode says whether and how a client uses TCP Fast Open (RFC 7413):
// the request rides in the SYN once the client holds a cookie from the
// server, saving the handshake's round trip before the server sees data.
type FastOpenMode uint8

const (
	// FastOpenOff: a plain connect() and handshake. Zero value.
	FastOpenOff FastOpenMode = iota
	// FastOpenSendto: no connect(); the first request goes out with
	// sendto(MSG_FASTOPEN), which connects and puts the data in the SYN
	// when a cookie is cached (without one, it sends a SYN asking for a
	// cookie and returns EINPROGRESS, and the data follows the handshake).
	FastOpenSendto
	// FastOpenConnect: TCP_FASTOPEN_CONNECT, so connect() and the first
	// write look as usual; with a cookie cached, connect() returns at once,
	// before any packet left, and the first write goes into the SYN.
	FastOpenConnect
)

// String returns "off", "sendto" or "connect".
func (m FastOpenMode) String() string {
	switch m {
	case FastOpenSendto:
		return "sendto"
	case FastOpenConnect:
		return "connect"
	}
	return "off"
}

// ParseFastOpenMode parses "off", "sendto" (also "on", "true", "") or "connect".
func ParseFastOpenMode(s string) (FastOpenMode, error) {
	switch strings.ToLower(s) {
	case "off", "false", "no", "0":
		return FastOpenOff, nil
	case "sendto", "on", "true", "yes", "1", "":
		return FastOpenSendto, nil
	case "connect":
		return FastOpenConnect, nil
	}
	return 0, fmt.Errorf("dialer: fast open mode %q: want sendto, connect or off", s)
}

// MarshalText makes FastOpenMode echo by name in JSON.
func (m FastOpenMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses a FastOpenMode's name.
func (m *FastOpenMode) UnmarshalText(b []byte) error {
	v, err := ParseFastOpenMode(string(b))
	*m = v
	return err
}

// Options are the client socket options. The zero value leaves every
// option at the kernel's default.
type Options struct {
	// NoDelay sets TCP_NODELAY (disables Nagle). False: kernel default (Nagle on).
	NoDelay bool `json:"nodelay"`
	// ReuseAddr sets SO_REUSEADDR on the client socket. False: not set.
	ReuseAddr bool `json:"reuseaddr"`
	// Close is how connections end: CloseFIN (zero) or CloseRST.
	Close CloseMode `json:"close"`
	// BindNoPort sets IP_BIND_ADDRESS_NO_PORT before binding a source
	// address, so the port is chosen at connect() time with the full
	// 4-tuple known (and TIME_WAIT ports can be reused). Sources always
	// set it; this field sets it even without Sources. False: not set.
	BindNoPort bool `json:"bind_no_port"`
	// Sources are the local addresses connections are bound to, in
	// rotation. Empty: the kernel picks the source address.
	Sources []netip.Addr `json:"sources,omitempty"`
	// LocalPortRange, when both ends are non-zero, sets the per-socket
	// IP_LOCAL_PORT_RANGE option (Linux >= 6.3) to [lo, hi].
	// Zero: the system's net.ipv4.ip_local_port_range.
	LocalPortRange [2]uint16 `json:"local_port_range,omitempty"`
	// SendBuffer and RecvBuffer set SO_SNDBUF / SO_RCVBUF in bytes.
	// Zero: kernel default (autotuned).
	SendBuffer int `json:"send_buffer,omitempty"`
	RecvBuffer int `json:"recv_buffer,omitempty"`
	// FastOpen is how TCP Fast Open is used. Zero: not at all. The client
	// needs bit 0x1 of net.ipv4.tcp_fastopen.
	FastOpen FastOpenMode `json:"fastopen,omitempty"`
	// NewSocket opens a new socket for every connection even where one
	// could be reused (see Dialer.Reuses). False: reuse where possible.
	NewSocket bool `json:"new_socket,omitempty"`
}

// Timeouts bound each phase; they are enforced by the caller's event loop.
type Timeouts struct {
	// Connect bounds the handshake, from connect() to writable. Zero: no
	// limit but the kernel's own (tcp_syn_retries, about 127 s).
	Connect time.Duration `json:"connect_ns"`
	// Response bounds the wait for a complete response after the request
	// has been written. Zero: no limit.
	Response time.Duration `json:"response_ns"`
}

// ParseSources parses "ADDR" or "ADDR-ADDR" (an inclusive range of IPv4 or
// IPv6 addresses, e.g. 127.0.0.2-127.0.0.50) or a comma-separated list of
// those. At most 65,536 addresses.
func ParseSources(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, fmt.Errorf("dialer: source %q: %w", part, err)
		}
		a = a.Unmap()
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := netip.ParseAddr(hi)
		if err != nil {
			return nil, fmt.Errorf("dialer: source %q: %w", part, err)
		}
		b = b.Unmap()
		if a.Is4() != b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("dialer: source range %q: end must be of the same family and not below the start", part)
		}
		for x := a; ; x = x.Next() {
			out = append(out, x)
			if len(out) > 65536 {
				return nil, fmt.Errorf("dialer: source range %q: more than 65536 addresses", part)
			}
			if x == b {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("dialer: source: no address given")
	}
	return out, nil
}

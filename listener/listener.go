// Package listener is connbench's built-in target server: epoll accept and
// serve loops, one per CPU by default, each locked to its thread and owning
// its connections. It shares the machine with the load generator in every
// loopback run, so it is kept as lean as the client: no goroutine per
// connection and no allocation per request.
//
// Each connection is served in lockstep: every RequestSize bytes received
// are answered with ResponseSize bytes (Respond), or echoed back (Echo), or
// swallowed (Discard), or every HTTP/1.1 request is answered with a 200
// response whose body is ResponseSize bytes (HTTP). The listener closes a
// connection when the peer does (and in HTTP mode after a response to a
// request that asked it to, with "Connection: close").
package listener

import (
	"fmt"
	"net/netip"
	"time"
)

// Mode is what the listener sends back.
type Mode uint8

const (
	// Respond answers each complete request with ResponseSize bytes. Zero value.
	Respond Mode = iota
	// Echo sends back every byte received.
	Echo
	// Discard reads and sends nothing back.
	Discard
	// HTTP answers each HTTP/1.x request (a head ending in an empty line,
	// then Content-Length body bytes, which are skipped) with "200 OK" and
	// a body of ResponseSize bytes with its Content-Length, keeping the
	// connection open unless the request says "Connection: close" (or is
	// HTTP/1.0 without keep-alive): then it closes after the response.
	// Requests may arrive split or pipelined. A HEAD request gets the head
	// alone, then the close; a malformed one 400, a head over 16 KiB 431,
	// a chunked request body 501, each followed by the close.
	HTTP
)

// String returns "respond", "echo" or "discard".
func (m Mode) String() string {
	switch m {
	case Echo:
		return "echo"
	case Discard:
		return "discard"
	case HTTP:
		return "http"
	}
	return "respond"
}

// ParseMode parses a Mode's String form.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "respond", "":
		return Respond, nil
	case "echo":
		return Echo, nil
	case "discard":
		return Discard, nil
	case "http":
		return HTTP, nil
	}
	return 0, fmt.Errorf("listener: mode %q: want respond, echo, discard or http", s)
}

// MarshalText makes Mode echo by name in JSON.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Config configures the listener. The zero value listens on 127.0.0.1 with
// an ephemeral port, one loop per CPU, and answers 1-byte requests with
// 1-byte responses.
type Config struct {
	// Addr is where to listen. Zero: 127.0.0.1:0 (an ephemeral port).
	Addr netip.AddrPort `json:"addr"`
	// Loops is the number of event loops. Zero: runtime.NumCPU().
	Loops int `json:"loops"`
	// Backlog is listen()'s backlog; the kernel caps it at
	// net.core.somaxconn. Zero: 4096 (so in effect somaxconn).
	Backlog int `json:"backlog"`
	// ReusePort gives every loop its own listening socket with
	// SO_REUSEPORT, and the kernel spreads connections over them.
	// False: one socket shared by all loops (EPOLLEXCLUSIVE wake-ups).
	ReusePort bool `json:"reuseport"`
	// ReuseAddr sets SO_REUSEADDR on the listening socket(s).
	ReuseAddr bool `json:"reuseaddr"`
	// Mode is what is sent back. Zero: Respond.
	Mode Mode `json:"mode"`
	// RequestSize is the size of one request in bytes. Zero: 1. Unused in
	// HTTP mode, where a request ends with its head's empty line.
	RequestSize int `json:"request_size"`
	// ResponseSize is the size of one response in bytes (in HTTP mode, of
	// the response body). Zero: 1.
	ResponseSize int `json:"response_size"`
	// NoDelay sets TCP_NODELAY on accepted connections.
	NoDelay bool `json:"nodelay"`
	// StallAfter and StallFor, when both set, make every loop stop serving
	// for StallFor once StallAfter has passed since Start (within 50 ms):
	// a server that hangs, for coordinated-omission experiments. Zero: never.
	StallAfter time.Duration `json:"stall_after_ns,omitempty"`
	StallFor   time.Duration `json:"stall_for_ns,omitempty"`
	// OnAccept, when set, is called from the loop's thread with each
	// accepted peer's address. It must be quick and safe for concurrent
	// use by several loops. Used by tests to count distinct source ports.
	OnAccept func(peer netip.AddrPort) `json:"-"`
}

// Stats are the listener's counters, summed over its loops.
type Stats struct {
	Accepted      int64         `json:"accepted"`       // connections accepted
	Closed        int64         `json:"closed"`         // connections closed
	Open          int64         `json:"open"`           // accepted and not yet closed
	Requests      int64         `json:"requests"`       // complete requests answered (HTTP: including 4xx/5xx answers)
	BytesReceived int64         `json:"bytes_received"` // payload bytes read
	BytesSent     int64         `json:"bytes_sent"`     // payload bytes written
	Resets        int64         `json:"resets"`         // connections that ended with ECONNRESET
	Errors        int64         `json:"errors"`         // other read/write/accept errors
	CPUUser       time.Duration `json:"cpu_user_ns"`    // user CPU of the loop threads
	CPUSys        time.Duration `json:"cpu_sys_ns"`     // system CPU of the loop threads
}

func (c *Config) withDefaults() Config {
	d := *c
	if !d.Addr.IsValid() {
		d.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	}
	if d.Backlog == 0 {
		d.Backlog = 4096
	}
	if d.RequestSize == 0 {
		d.RequestSize = 1
	}
	if d.ResponseSize == 0 {
		d.ResponseSize = 1
	}
	return d
}

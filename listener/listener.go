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
// connection when the peer does (unless told to leak it, Config.Leak), and
// in HTTP mode after a response to a request that asked it to, with
// "Connection: close".
//
// A few knobs make it a misbehaving server on purpose, for experiments:
// one that hangs (StallAfter), accepts slowly (AcceptDelay) or not for a
// while (AcceptPauseAfter), or leaks connections in CLOSE_WAIT (Leak).
package listener

import (
	"crypto/tls"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Mode is what the listener sends back.
type Mode uint8

const (
	// Respond answers each complete request with ResponseSize bytes. Zero value.
	Respond Mode = iota
	// Echo sends back every byte received. What the socket does not take
	// at once is kept (at most MaxEchoPending bytes) and the connection
	// reads nothing more until it is written: a peer that sends and never
	// reads is held back by TCP's flow control.
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

// Per-connection memory bounds, whatever a client does. A connection that
// sends nothing holds a descriptor and a small fixed entry in its loop's
// table until the peer closes it or, with Config.IdleClose, until it has
// been idle that long.
const (
	// MaxEchoPending is the most bytes an Echo connection keeps while its
	// peer does not read: one read's worth, 64 KiB (a loop reads at most
	// this much at a time).
	MaxEchoPending = readBufferBytes
	// MaxRequestHead is the largest HTTP request head the listener
	// buffers; a longer one is answered 431 and the connection closed.
	MaxRequestHead = maxRequestHead
)

// readBufferBytes is the size of each loop's read buffer.
const readBufferBytes = 64 << 10

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
	// net.core.somaxconn. Zero: DefaultBacklog (so in effect somaxconn,
	// whose default is the same). BacklogFor sizes it for a rate.
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
	// FastOpenQueue, when above zero, sets TCP_FASTOPEN on the listening
	// socket(s) with this queue length (the most SYNs carrying data that
	// may wait for the handshake to complete), so that a client holding a
	// cookie has its SYN's data served before the handshake ends. The
	// kernel also needs bit 0x2 of net.ipv4.tcp_fastopen (server enable;
	// its default is 1, client only) in the listener's network namespace:
	// the listener leaves sysctls alone, and without that bit the socket
	// option is accepted but SYN data is ignored. Zero: no Fast Open.
	FastOpenQueue int `json:"fastopen_queue,omitempty"`
	// AcceptDelay, when above zero, makes a slow-accepting server: each
	// loop accepts at most one connection per AcceptDelay (after an accept
	// it takes no other until AcceptDelay has passed), while it goes on
	// serving the connections it has. Connections arriving faster wait in
	// the accept queue. With several loops the listener accepts up to
	// Loops per AcceptDelay. Zero: accept as fast as connections come.
	AcceptDelay time.Duration `json:"accept_delay_ns,omitempty"`
	// AcceptPauseAfter and AcceptPauseFor, when AcceptPauseFor is above
	// zero, make every loop stop accepting from AcceptPauseAfter after
	// Start (zero: at once) for AcceptPauseFor, while it goes on serving
	// the connections it has (unlike StallFor, which hangs the whole loop).
	// Connections arriving meanwhile complete their handshake into the
	// accept queue, Backlog long, and past that the kernel drops their SYNs
	// (TcpExt.ListenOverflows, ListenDrops) and clients retransmit them:
	// the knob for listen-backlog overflow experiments.
	AcceptPauseAfter time.Duration `json:"accept_pause_after_ns,omitempty"`
	AcceptPauseFor   time.Duration `json:"accept_pause_for_ns,omitempty"`
	// Leak makes a server with the CLOSE_WAIT bug: when the peer closes a
	// connection (a read returns end of stream), the listener neither
	// closes it nor reads it again; it takes it out of its epoll set and
	// keeps the descriptor, so the socket stays in CLOSE_WAIT and holds a
	// descriptor until Close (Stats.Leaked, Stats.Descriptors). Once the
	// descriptors run out (EMFILE), a loop retries accepting every 20 ms
	// (counting an error each time) instead of spinning. Connections the
	// listener closes itself (after an HTTP "Connection: close" response,
	// on a reset or an error) are closed as usual.
	Leak bool `json:"leak,omitempty"`
	// IdleClose, when above zero, makes the listener close a connection
	// on which no byte moved either way for IdleClose, as a server's
	// keep-alive timeout does (nginx keepalive_timeout): the client finds
	// its pooled connection closed. A loop checks once per wake-up, and
	// wakes at least every 50 ms, so a connection is closed between
	// IdleClose and about IdleClose + 50 ms after its last byte (later on
	// a loop that is busy or descheduled). Zero: never (connections stay
	// open until the peer closes them).
	IdleClose time.Duration `json:"idle_close_ns,omitempty"`
	// Spin is the longest a loop with connections open polls for events
	// before it sleeps (sock.Spin: the window adapts, and closes while
	// polls find nothing). Zero: it sleeps at once. At most MaxSpin.
	Spin time.Duration `json:"spin_ns,omitempty"`
	// OnAccept, when set, is called from the loop's thread with each
	// accepted peer's address. It must be quick and safe for concurrent
	// use by several loops. Used by tests to count distinct source ports.
	OnAccept func(peer netip.AddrPort) `json:"-"`

	// TLS, when set, serves TLS with this configuration (tls.go): a
	// goroutine per connection rather than the event loops, and the
	// misbehaviour knobs (stalls, accept delays and pauses, leaks) and Fast
	// Open do not apply. Nil: plain TCP.
	TLS *tls.Config `json:"-"`
}

// Stats are the listener's counters, summed over its loops.
type Stats struct {
	Accepted      int64         `json:"accepted"`       // connections accepted
	Closed        int64         `json:"closed"`         // connections closed
	Open          int64         `json:"open"`           // accepted and still served: not closed nor leaked
	Requests      int64         `json:"requests"`       // complete requests answered (HTTP: including 4xx/5xx answers)
	BytesReceived int64         `json:"bytes_received"` // payload bytes read
	BytesSent     int64         `json:"bytes_sent"`     // payload bytes written
	Resets        int64         `json:"resets"`         // connections that ended with ECONNRESET
	Errors        int64         `json:"errors"`         // other read/write/accept errors
	Leaked        int64         `json:"leaked"`         // Leak: peer-closed connections left in CLOSE_WAIT (not in Closed; still counted after Close frees them)
	IdleClosed    int64         `json:"idle_closed"`    // IdleClose: connections closed for being idle (also in Closed)
	Descriptors   int64         `json:"descriptors"`    // connection descriptors held now: Open, plus leaked ones until Close
	CPUUser       time.Duration `json:"cpu_user_ns"`    // user CPU of the loop threads
	CPUSys        time.Duration `json:"cpu_sys_ns"`     // system CPU of the loop threads
	Spin          time.Duration `json:"spin_ns"`        // Config.Spin: the loops' time polling for events before sleeping (CPU, in CPUUser/CPUSys)
	SpinHits      int64         `json:"spin_hits"`      // polls that found events

	// TLS (Config.TLS): handshakes completed, resumed and failed, and the
	// serving threads' CPU inside them (all, and the resumed ones).
	TLSHandshakes, TLSResumed, TLSFailed int64         `json:"-"`
	TLSHandshakeCPU, TLSResumedCPU       time.Duration `json:"-"`
}

// DefaultBacklog is the backlog a zero Config.Backlog asks for: the
// default net.core.somaxconn since Linux 5.4.
const DefaultBacklog = 4096

// AcceptQueueTime is how many seconds of arrivals BacklogFor makes room
// for: far more than a loop takes to come back to accept (microseconds to
// a few milliseconds), so that a loop descheduled for a while on a loaded
// machine, or a burst of handshakes, does not overflow the queue.
const AcceptQueueTime = time.Second

// MaxAcceptBatch is the most connections a loop accepts per wake-up before
// it serves the connections it has; the listening socket is
// level-triggered, so what is left wakes it again at once.
const MaxAcceptBatch = 256

// BacklogFor is the listen() backlog for connections arriving at rate per
// second at one listening socket: AcceptQueueTime of arrivals, at least
// DefaultBacklog, at most somaxconn (the kernel caps listen()'s backlog at
// net.core.somaxconn; somaxconn <= 0: unknown, no cap). limited reports
// that somaxconn is below what the rate wants: the accept queue is then
// smaller than AcceptQueueTime of arrivals.
func BacklogFor(rate float64, somaxconn int) (backlog int, limited bool) {
	want := DefaultBacklog
	if rate > 0 {
		need := math.Ceil(rate * AcceptQueueTime.Seconds())
		if need > float64(want) {
			want = int(min(need, math.MaxInt32))
		}
		limited = somaxconn > 0 && need > float64(somaxconn)
	}
	if somaxconn > 0 && want > somaxconn {
		want = somaxconn
	}
	return want, limited
}

func (c *Config) withDefaults() Config {
	d := *c
	if !d.Addr.IsValid() {
		d.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	}
	if d.Backlog == 0 {
		d.Backlog = DefaultBacklog
	}
	if d.RequestSize == 0 {
		d.RequestSize = 1
	}
	if d.ResponseSize == 0 {
		d.ResponseSize = 1
	}
	return d
}

// validate rejects settings that make no sense, naming the field.
func (c *Config) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"RequestSize", c.RequestSize},
		{"ResponseSize", c.ResponseSize},
		{"FastOpenQueue", c.FastOpenQueue},
	} {
		if f.v < 0 {
			return fmt.Errorf("listener: negative %s %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"AcceptDelay", c.AcceptDelay},
		{"AcceptPauseAfter", c.AcceptPauseAfter},
		{"AcceptPauseFor", c.AcceptPauseFor},
		{"IdleClose", c.IdleClose},
		{"Spin", c.Spin},
	} {
		if f.v < 0 {
			return fmt.Errorf("listener: negative %s %v", f.name, f.v)
		}
	}
	if c.Spin > MaxSpin {
		return fmt.Errorf("listener: Spin %v: at most %v", c.Spin, MaxSpin)
	}
	return nil
}

// MaxSpin bounds Config.Spin.
const MaxSpin = time.Millisecond

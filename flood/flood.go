// Package flood sends a SYN flood: TCP SYNs with spoofed source addresses,
// paced at a fixed rate, for the synflood experiment (how the built-in
// listener fares with and without SYN cookies while legitimate clients
// connect).
//
// It is only ever aimed at the built-in listener inside the namespaces of
// an emulated path (package netpath): the target and every spoofed source
// must lie in 198.18.0.0/15 (RFC 2544's benchmarking range, Range), which
// netpath gives its two namespaces and nothing else uses. The path's
// server namespace routes that whole range back over the path, so the
// server's SYN-ACKs to the spoofed sources cross it and are dropped in the
// client namespace, which has no route to them and does not forward.
//
// Packets go out through a raw socket (AF_INET, SOCK_RAW, IPPROTO_RAW, so
// the IP header is ours) created by Start in the network namespace of the
// calling thread: call Start inside the client namespace (from
// netpath's NS.Do or a goroutine started by NS.Go); Start refuses the
// process's own namespace. Raw sockets need CAP_NET_RAW.
//
// Each SYN is what a Linux client sends (MSS 1460, SACK permitted,
// timestamps, window scale 7, window 64240, DF, TTL 64), from a source
// address drawn uniformly from Config.Sources, a source port from
// 1024-65535, with random sequence number, timestamp and IP ID, and
// correct IPv4 and TCP checksums.
//
// The package never prints, exits or reads flags.
package flood

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Range is the only block the flood may target or spoof: 198.18.0.0/15,
// the block of netpath's namespaces (netpath.Prefix).
var Range = netip.MustParsePrefix("198.18.0.0/15")

// The two ends of a netpath path, never used as spoofed sources: a SYN
// from the server's own address is a martian, and one from the client's
// would collide with the legitimate client's connections.
var (
	clientAddr = netip.AddrFrom4([4]byte{198, 18, 0, 1})
	serverAddr = netip.AddrFrom4([4]byte{198, 18, 0, 2})
)

// errOutsideRange is the one-line reason a target outside Range is refused.
const errOutsideRange = "synflood only targets the built-in listener inside its own namespace (198.18.0.0/15)"

// Tick is how often the sender wakes up to send the SYNs that fell due
// since it last did.
const Tick = time.Millisecond

// Config describes a flood. Every field but Sources and Seed must be set.
type Config struct {
	// Target is the listener's address and port: an IPv4 address inside
	// Range (198.18.0.2 for netpath's server), a port other than 0.
	Target netip.AddrPort `json:"target"`
	// Sources is where the spoofed source addresses are drawn from
	// (uniformly, each SYN its own): a prefix inside Range. The two ends
	// of a path (198.18.0.1 and 198.18.0.2) and Target's address are
	// never used. Zero: all of Range.
	Sources netip.Prefix `json:"sources"`
	// Rate is the number of SYNs per second, > 0.
	Rate float64 `json:"rate"`
	// Duration is how long the flood lasts, > 0: it stops by itself then
	// (or earlier, at Stop).
	Duration time.Duration `json:"duration_ns"`
	// Seed seeds the random sources, ports, sequence numbers and IP IDs,
	// so that a flood can be repeated. Zero picks a random seed (see
	// Flooder.Config for the one used).
	Seed uint64 `json:"seed"`
}

// normalize checks c (errors name the field) and returns it with the
// defaults filled in (Sources, Seed) and Target's address unmapped.
func (c Config) normalize() (Config, error) {
	t := c.Target.Addr().Unmap()
	switch {
	case !c.Target.IsValid():
		return c, errors.New("flood: Target is not set")
	case !t.Is4() || !Range.Contains(t):
		return c, fmt.Errorf("flood: Target %s: %s", c.Target, errOutsideRange)
	case c.Target.Port() == 0:
		return c, fmt.Errorf("flood: Target %s: port 0", c.Target)
	}
	c.Target = netip.AddrPortFrom(t, c.Target.Port())
	if !c.Sources.IsValid() {
		c.Sources = Range
	}
	s := c.Sources.Masked()
	if !s.Addr().Is4() || s.Bits() < Range.Bits() || !Range.Contains(s.Addr()) {
		return c, fmt.Errorf("flood: Sources %s is not inside %s: spoofed sources must stay in the path's namespaces", c.Sources, Range)
	}
	c.Sources = s
	if usable(s, t) == 0 {
		return c, fmt.Errorf("flood: Sources %s holds no address besides the path's ends (%s, %s) and the target", s, clientAddr, serverAddr)
	}
	switch {
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate <= 0:
		return c, fmt.Errorf("flood: Rate %v SYN/s: must be > 0", c.Rate)
	case c.Duration <= 0:
		return c, fmt.Errorf("flood: Duration %v: must be > 0 (a flood always ends by itself)", c.Duration)
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return c, nil
}

// excluded reports whether a may not be a spoofed source toward target.
func excluded(a, target netip.Addr) bool {
	return a == clientAddr || a == serverAddr || a == target
}

// usable returns how many addresses of p may be spoofed toward target.
func usable(p netip.Prefix, target netip.Addr) uint64 {
	n := uint64(1) << (32 - p.Bits())
	ex := []netip.Addr{clientAddr, serverAddr}
	if !slices.Contains(ex, target) {
		ex = append(ex, target)
	}
	for _, a := range ex {
		if p.Contains(a) {
			n--
		}
	}
	return n
}

// Stats counts what a flood sent so far.
type Stats struct {
	// Sent is the number of SYNs the kernel accepted from the raw socket.
	Sent int64 `json:"sent"`
	// Errors is the number of SYNs the send failed for (each is lost), and
	// FirstError the text of the first such failure ("" if none).
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

// Flooder is a running flood. Its methods are safe for concurrent use.
type Flooder struct {
	cfg  Config
	send func([]byte) error // one packet to the target
	done chan struct{}      // closed when the sender has returned
	stop chan struct{}      // closed by Stop
	once sync.Once
	cls  func() error // releases the socket once the sender is done

	sent, errs atomic.Int64
	errMu      sync.Mutex
	firstErr   string
}

// Start checks cfg (errors name the field; a Target outside Range is
// refused with a one-line reason), opens a raw socket in the network
// namespace of the calling thread, and starts sending SYNs at cfg.Rate
// from a goroutine until cfg.Duration has passed or Stop is called.
//
// Call it on a thread inside the client namespace of a netpath path
// (within NS.Do, or on a goroutine started by NS.Go): the socket belongs
// to the namespace it is created in and keeps sending there from any
// thread. As a safeguard Start refuses, before it opens anything, to run
// on a thread in the process's own network namespace (netpath never moves
// the main thread, so a process that runs entirely in one namespace cannot
// flood at all), or in one whose route to Target does not leave from an
// address inside Range. It needs CAP_NET_RAW (the error wraps EPERM
// otherwise) and Linux (errors.ErrUnsupported elsewhere).
func Start(cfg Config) (*Flooder, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	send, cls, err := openSender(c.Target)
	if err != nil {
		return nil, err
	}
	f := newFlooder(c, send, cls)
	go f.run()
	return f, nil
}

func newFlooder(c Config, send func([]byte) error, cls func() error) *Flooder {
	return &Flooder{cfg: c, send: send, cls: cls, done: make(chan struct{}), stop: make(chan struct{})}
}

// Config returns the flood's configuration with the defaults in force
// (Sources, and the Seed used).
func (f *Flooder) Config() Config { return f.cfg }

// Stop ends the flood, if it still runs, and waits for the sender to
// return and the socket to be closed. It may be called more than once.
func (f *Flooder) Stop() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

// Done is closed when the flood has ended (its Duration passed, or Stop)
// and its socket is closed.
func (f *Flooder) Done() <-chan struct{} { return f.done }

// Stats returns the counts so far (after Done: the final counts).
func (f *Flooder) Stats() Stats {
	s := Stats{Sent: f.sent.Load(), Errors: f.errs.Load()}
	f.errMu.Lock()
	s.FirstError = f.firstErr
	f.errMu.Unlock()
	return s
}

// run is the sender: every Tick it sends the SYNs that fell due since the
// start (Rate × elapsed, less those already sent), so that a late wake-up
// is made up at the next one and the average rate holds.
func (f *Flooder) run() {
	defer close(f.done)
	defer f.cls()
	g := newGen(f.cfg)
	start := time.Now()
	end := time.NewTimer(f.cfg.Duration)
	defer end.Stop()
	tick := time.NewTicker(Tick)
	defer tick.Stop()
	var issued int64 // SYNs sent or failed
	for {
		select {
		case <-f.stop:
			return
		case <-end.C:
			return
		case <-tick.C:
		}
		el := min(time.Since(start), f.cfg.Duration)
		due := int64(f.cfg.Rate * el.Seconds())
		for ; issued < due; issued++ {
			if issued&63 == 63 {
				select {
				case <-f.stop:
					return
				default:
				}
			}
			if err := f.send(g.next()); err != nil {
				if f.errs.Add(1) == 1 {
					f.errMu.Lock()
					f.firstErr = err.Error()
					f.errMu.Unlock()
				}
				continue
			}
			f.sent.Add(1)
		}
	}
}

// Packet layout: a 20-byte IPv4 header and a 40-byte TCP header whose
// options are those of a Linux SYN (MSS, SACK permitted, timestamps,
// window scale), so that the listener handles it as any client's.
const (
	ipLen   = 20
	tcpLen  = 40
	pktLen  = ipLen + tcpLen
	synMSS  = 1460
	synWin  = 64240 // Linux's SYN window with MSS 1460
	synWS   = 7
	ttl     = 64
	ipDF    = 0x4000
	tcpSYN  = 0x02
	protTCP = 6
)

// gen builds the SYNs: one buffer, rewritten per packet.
type gen struct {
	rng     *rand.Rand
	base    uint32 // first address of Sources
	hostLen uint64 // number of addresses in Sources
	target  netip.AddrPort
	pkt     [pktLen]byte
}

func newGen(c Config) *gen {
	g := &gen{
		rng:     rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)),
		target:  c.Target,
		hostLen: uint64(1) << (32 - c.Sources.Bits()),
	}
	a := c.Sources.Addr().As4()
	g.base = binary.BigEndian.Uint32(a[:])
	p := g.pkt[:]
	p[0] = 0x45 // version 4, 5 words
	binary.BigEndian.PutUint16(p[2:], pktLen)
	binary.BigEndian.PutUint16(p[6:], ipDF)
	p[8], p[9] = ttl, protTCP
	t := c.Target.Addr().As4()
	copy(p[16:20], t[:])
	h := p[ipLen:]
	binary.BigEndian.PutUint16(h[2:], c.Target.Port())
	h[12] = tcpLen / 4 << 4
	h[13] = tcpSYN
	binary.BigEndian.PutUint16(h[14:], synWin)
	o := h[20:]
	copy(o, []byte{
		2, 4, synMSS >> 8, synMSS & 0xff, // MSS
		4, 2, // SACK permitted
		8, 10, 0, 0, 0, 0, 0, 0, 0, 0, // timestamps: TSval set per packet, TSecr 0
		1,           // NOP
		3, 3, synWS, // window scale
	})
	return g
}

// source draws a spoofed source address.
func (g *gen) source() netip.Addr {
	for {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], g.base+uint32(g.rng.Uint64N(g.hostLen)))
		if a := netip.AddrFrom4(b); !excluded(a, g.target.Addr()) {
			return a
		}
	}
}

// next returns the next SYN, valid until the following call.
func (g *gen) next() []byte {
	p := g.pkt[:]
	src := g.source().As4()
	copy(p[12:16], src[:])
	binary.BigEndian.PutUint16(p[4:], uint16(g.rng.Uint32())) // IP ID
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], checksum(0, p[:ipLen]))
	h := p[ipLen:]
	binary.BigEndian.PutUint16(h[0:], uint16(1024+g.rng.IntN(65536-1024))) // source port
	binary.BigEndian.PutUint32(h[4:], g.rng.Uint32())                      // ISN
	binary.BigEndian.PutUint32(h[28:], g.rng.Uint32())                     // TSval
	h[16], h[17] = 0, 0
	binary.BigEndian.PutUint16(h[16:], checksum(pseudoSum(p), h))
	return p
}

// pseudoSum returns the unfolded sum of the TCP pseudo-header of the IPv4
// packet p: source, destination, protocol, TCP length.
func pseudoSum(p []byte) uint32 {
	var s uint32
	for i := 12; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	return s + protTCP + uint32(len(p)-ipLen)
}

// checksum returns the Internet checksum (RFC 1071) of b, starting from
// the unfolded sum sum.
func checksum(sum uint32, b []byte) uint16 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

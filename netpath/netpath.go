// Package netpath joins two network namespaces, a client's and a server's,
// by an emulated network path that delays and drops packets as configured,
// so that what loopback hides becomes visible: a handshake's round trip,
// what TCP Fast Open saves, a lost SYN's one-second retransmission.
//
// The usual tool for this is the netem queueing discipline on a veth pair.
// Where sch_netem exists it would be preferable: it runs in the kernel, at
// no CPU cost to the benchmark and without a thread wake-up per packet. But
// many kernels (minimal VM and container kernels among them) are built
// without it, so this package never depends on it: it puts a TUN device in
// each namespace and forwards packets between the two itself, holding each
// one for its delay (Mechanism, "tun-forwarder"). NetemAvailable reports
// whether netem would have been there, for the record.
//
// Each direction is forwarded by its own goroutine locked to an OS thread
// (or both by one, see Config.Threads), waiting in epoll_pwait2 with
// nanosecond timeouts (Go timers and the netpoller have about a millisecond
// of granularity), with the thread's timer slack lowered to 1 ns, and every
// buffer allocated up front. The time a packet is released later than
// intended is recorded per packet (Stats.AddedDelay). What it cannot see is
// the time a packet waits in the sending TUN device for the forwarder
// thread to wake and read it: at RTT 0 that wake-up is the whole cost of
// the path, measured end to end only (a handshake across the path against
// one on loopback). Both together are the floor of every emulated figure.
//
// The forwarders compete for CPU with the load they carry; on a busy
// machine Config.Realtime keeps them ahead of it. The Go scheduler is the
// other limit: a forwarder woken from epoll needs a P, so GOMAXPROCS should
// leave room for the forwarder threads besides the benchmark's own locked
// event loops.
//
// Namespaces are held by goroutines locked to their OS threads (see NS), not
// by bind mounts or processes, so they disappear with Close, and with the
// process if it is killed. Creating them needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN). Only IPv4 crosses the path: 198.18.0.1 is the client and
// 198.18.0.2 the server (RFC 2544's benchmarking range); IPv6 is disabled
// in both namespaces so that only the traffic under test is counted.
// Neither namespace forwards (net.ipv4.ip_forward is 0), and the server
// routes the whole range (Prefix) over the path, so that it can answer
// spoofed sources.
//
// The package never prints, exits or reads flags.
package netpath

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connbench/connbench/histogram"
)

// Mechanism names how the path is emulated, for the result document.
const Mechanism = "tun-forwarder"

// The two ends of the path.
var (
	clientAddr = netip.AddrFrom4([4]byte{198, 18, 0, 1})
	serverAddr = netip.AddrFrom4([4]byte{198, 18, 0, 2})
)

// Prefix is the block both ends belong to (RFC 2544's benchmarking range,
// 198.18.0.0/15). The server namespace routes all of it over the path
// (besides the point-to-point route to ClientAddr, which is more
// specific), so that it answers any source in it, such as the spoofed
// sources of a SYN flood sent from the client namespace (package flood):
// its SYN-ACKs cross the path and die in the client namespace, which has
// no route to those addresses and does not forward. The client namespace
// routes ServerAddr only.
var Prefix = netip.MustParsePrefix("198.18.0.0/15")

// DeviceName is the name of the TUN device in both namespaces.
const DeviceName = "cbpath0"

// MTU of the TUN devices, in bytes. Without IFF_VNET_HDR a TUN device does
// no segmentation offload, so no packet on the path is larger.
const MTU = 1500

// DefaultQueue is the number of packets each direction holds at most when
// Config.Queue is zero.
const DefaultQueue = 4096

// ErrClosed is returned by NS.Do after the path is closed.
var ErrClosed = errors.New("netpath: closed")

// ErrMainThread is returned by Enter on the process's main thread.
var ErrMainThread = errors.New("netpath: cannot enter a namespace on the main thread (Go never destroys it); use Go")

// Config describes the path. The zero value is a plain path that forwards
// every packet at once. Every setting applies to each direction separately.
type Config struct {
	// RTT is the round-trip time the path adds: each packet is held for
	// RTT/2 in each direction. Zero forwards at once.
	RTT time.Duration `json:"rtt_ns"`
	// Jitter varies each one-way delay uniformly within ±Jitter (a delay
	// that would be negative is 0). Packets are never reordered: a packet
	// is never released before the one read ahead of it, as on a real
	// link; so where packets follow each other closer than 2×Jitter, most
	// wait for one ahead that drew a long delay, and their delays bunch
	// towards RTT/2 + Jitter. Zero means no jitter.
	Jitter time.Duration `json:"jitter_ns"`
	// Loss is the probability, 0..1, that any packet is dropped.
	// Zero drops nothing.
	Loss float64 `json:"loss"`
	// DropSYN drops the first DropSYN transmissions of every connection's
	// SYN (SYN set, ACK clear): 1 costs each handshake the kernel's initial
	// retransmission timeout (1 s); 2 cost 1 s + 2 s where the timeout
	// doubles, but 1 s + 1 s on Linux 6.5 and later, which keep it for the
	// first net.ipv4.tcp_syn_linear_timeouts (default 4) retransmissions
	// (a per-namespace sysctl of the client). A connection is its
	// 4-tuple and initial sequence number, so a new connection reusing a
	// 4-tuple is counted afresh; a 4-tuple is forgotten 2 to 4 minutes
	// after its last SYN. Zero drops none.
	DropSYN int `json:"drop_syn"`
	// DropSYNShare is the probability, 0..1, that a SYN transmission not
	// already dropped by DropSYN is dropped. Zero drops none.
	DropSYNShare float64 `json:"drop_syn_share"`
	// Rate limits each direction to this many bits per second: a packet
	// is released only after the packets before it have been serialized,
	// then delayed; packets wait in the queue (see Queue), which is then
	// the bottleneck's buffer. Zero means no limit.
	Rate int64 `json:"rate_bps"`
	// Queue is the most packets each direction holds; a packet arriving
	// at a full queue is dropped and counted in DroppedQueue. Memory is
	// Queue × 2 KiB per direction, touched only as far as used. Zero means
	// DefaultQueue.
	Queue int `json:"queue_packets"`
	// Threads is the number of forwarder threads: 2 runs each direction
	// on its own thread, 1 runs both on one. One thread needs fewer
	// wake-ups (the reply a delivered packet provokes is read without
	// one) but forwards on one CPU only. Zero means 2.
	Threads int `json:"threads"`
	// Realtime runs the forwarder threads under SCHED_FIFO at the lowest
	// real-time priority, so that the load the path carries (the
	// benchmark's own threads, or anything else on the machine) cannot
	// delay its packets: on a busy machine it cuts the added delay several
	// times over. A forwarder spins for at most tens of microseconds, and
	// the kernel keeps 5% of each CPU for normal threads anyway. It needs
	// CAP_SYS_NICE; New fails without it. False uses normal scheduling.
	Realtime bool `json:"realtime"`
	// Seed seeds the random choices (loss, jitter, DropSYNShare), so that a
	// run can be repeated. Zero picks a random seed.
	Seed uint64 `json:"seed"`
}

// validate checks the ranges of c; errors name the field.
func (c Config) validate() error {
	switch {
	case c.RTT < 0:
		return fmt.Errorf("netpath: RTT %v is negative", c.RTT)
	case c.Jitter < 0:
		return fmt.Errorf("netpath: Jitter %v is negative", c.Jitter)
	case !(c.Loss >= 0 && c.Loss <= 1):
		return fmt.Errorf("netpath: Loss %v is outside 0..1", c.Loss)
	case c.DropSYN < 0:
		return fmt.Errorf("netpath: DropSYN %d is negative", c.DropSYN)
	case !(c.DropSYNShare >= 0 && c.DropSYNShare <= 1):
		return fmt.Errorf("netpath: DropSYNShare %v is outside 0..1", c.DropSYNShare)
	case c.Rate < 0:
		return fmt.Errorf("netpath: Rate %d is negative", c.Rate)
	case c.Queue < 0:
		return fmt.Errorf("netpath: Queue %d is negative", c.Queue)
	case c.Threads < 0 || c.Threads > 2:
		return fmt.Errorf("netpath: Threads %d is not 0, 1 or 2", c.Threads)
	}
	return nil
}

// queueLen returns the queue length in force.
func (c Config) queueLen() int {
	if c.Queue == 0 {
		return DefaultQueue
	}
	return c.Queue
}

// Stats describes what crossed the path so far.
type Stats struct {
	// Mechanism is how the path was emulated: always Mechanism here.
	Mechanism string `json:"mechanism"`
	// NetemAvailable records whether sch_netem was available (unused).
	NetemAvailable bool `json:"netem_available"`
	// Config is the path's configuration.
	Config Config `json:"config"`
	// CPU is the CPU time (user + system) of the forwarder threads,
	// refreshed every 100 ms while they run. The system part includes the
	// receiving namespace's network stack, which the write to its TUN
	// device runs (TCP's receive processing included).
	CPU time.Duration `json:"forwarder_cpu_ns"`
	// ClientToServer and ServerToClient are the two directions.
	ClientToServer DirStats `json:"client_to_server"`
	ServerToClient DirStats `json:"server_to_client"`
}

// DirStats counts one direction of the path. Packets and bytes are IP
// packets and their lengths including the IP header.
type DirStats struct {
	// Packets and Bytes were read from the sending namespace's TUN device.
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
	// ForwardedPackets and ForwardedBytes were delivered to the receiving
	// namespace. Packets still held at Close are in neither.
	ForwardedPackets int64 `json:"forwarded_packets"`
	ForwardedBytes   int64 `json:"forwarded_bytes"`
	// DroppedLoss and DroppedSYN were dropped as the Config asked (Loss;
	// DropSYN and DropSYNShare).
	DroppedLoss int64 `json:"dropped_loss"`
	DroppedSYN  int64 `json:"dropped_syn"`
	// DroppedQueue arrived when the forwarder's queue was full.
	DroppedQueue int64 `json:"dropped_queue"`
	// KernelDropped counts what the kernel dropped at the TUN devices: on
	// the sending side because the forwarder did not read fast enough (the
	// device's queue was full), on the receiving side refused on injection.
	KernelDropped int64 `json:"kernel_dropped"`
	// Errors counts failed reads and writes of the TUN devices (each one
	// loses at most one packet) and a forwarder that stopped on an error.
	Errors int64 `json:"errors"`
	// AddedDelay holds, per forwarded packet, the forwarder's own added
	// delay in nanoseconds: the time it handed the packet to the receiving
	// namespace minus the time it meant to (read time + delay). It does not
	// see the time a packet waited in the sending TUN's queue for the
	// forwarder thread to wake up. Nil in a zero DirStats.
	AddedDelay *histogram.Recorder `json:"-"`
}

// Unrequested returns the packets lost that no Config setting asked for:
// queue overflows, kernel drops and errors.
func (d DirStats) Unrequested() int64 {
	return d.DroppedQueue + d.KernelDropped + d.Errors
}

// Unrequested returns the packets lost in both directions that no Config
// setting asked for (see DirStats.Unrequested).
func (s Stats) Unrequested() int64 {
	return s.ClientToServer.Unrequested() + s.ServerToClient.Unrequested()
}

// AddedDelay returns a new Recorder merging both directions' AddedDelay.
func (s Stats) AddedDelay() *histogram.Recorder {
	r := histogram.New()
	r.Merge(s.ClientToServer.AddedDelay)
	r.Merge(s.ServerToClient.AddedDelay)
	return r
}

// NS is a network namespace held by a "home" goroutine locked to its OS
// thread: only that thread was moved into the namespace (unshare
// CLONE_NEWNET), and it serves Do. When the path is closed the home
// goroutine exits without unlocking, so Go destroys the thread, and the
// namespace goes when nothing else refers to it.
type NS struct {
	name string
	fd   atomic.Int32 // an fd of the namespace, -1 once closed
	fns  chan nsCall
	quit chan struct{} // closed by close
	done chan struct{} // closed when the home goroutine returns
	once sync.Once
}

type nsCall struct {
	f   func() error
	res chan error
}

// Name returns "client" or "server".
func (n *NS) Name() string { return n.name }

// Do runs f on the namespace's home thread and returns its error, or
// ErrClosed if the path is closed. Sockets f creates belong to the
// namespace and can be used from any thread afterwards; /proc/sys/net is
// the namespace's (kernel.WriteSysctl with root ""), and so is
// /proc/thread-self/net (its /proc/net). Calls are run one at a time, in
// order: f must not call Do itself, block for long, or unlock the thread
// (runtime.UnlockOSThread); goroutines it starts do not run in the
// namespace. For concurrent work in the namespace use Enter with FD.
func (n *NS) Do(f func() error) error {
	c := nsCall{f: f, res: make(chan error, 1)}
	select {
	case n.fns <- c:
	case <-n.quit:
		return ErrClosed
	}
	return <-c.res
}

// FD returns a descriptor of the namespace (of /proc/thread-self/ns/net on
// its home thread) for Enter, valid until the path is closed; -1 after.
// It is close-on-exec.
func (n *NS) FD() int { return int(n.fd.Load()) }

// Path is an emulated network path between two namespaces. Create it with
// New; the zero value is not usable. Its methods are safe for concurrent
// use.
type Path struct {
	// Client and Server are the two namespaces.
	Client, Server *NS
	// ClientAddr and ServerAddr are the ends of the path, 198.18.0.1 in
	// Client and 198.18.0.2 in Server.
	ClientAddr, ServerAddr netip.Addr

	cfg   Config
	netem bool
	sys   pathSys // platform part
}

// Config returns the path's configuration.
func (p *Path) Config() Config { return p.cfg }

// New creates the two namespaces, a TUN device in each (DeviceName,
// addressed point-to-point: ClientAddr with peer ServerAddr, and the
// reverse; the server's also routes all of Prefix), turns forwarding off,
// brings loopback up in both and starts the forwarders. cfg is
// checked first (the error names the field). Without the privileges the
// error wraps unix.EPERM (errors.Is(err, os.ErrPermission)) and says so.
// On other systems than Linux it returns an error wrapping
// errors.ErrUnsupported. Close the Path to release everything.
func New(cfg Config) (*Path, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newPath(cfg)
}

// Stats returns the counts so far (after Close: the final counts). It
// copies the added-delay histograms (about 264 KiB each) while the
// forwarders wait, so call it at the end of a run or once per second, not
// per event.
func (p *Path) Stats() Stats { return p.stats() }

// Close stops the forwarders (dropping the packets they still hold),
// closes the TUN devices and namespace descriptors and ends the home
// threads. Threads that entered a namespace with Enter keep it alive
// until they exit. Close is idempotent; Do then returns ErrClosed.
func (p *Path) Close() error { return p.close() }

// Enter locks the calling goroutine to its OS thread and moves that thread
// into the network namespace fd (from NS.FD): sockets it creates from then
// on belong to the namespace. The goroutine must never call
// runtime.UnlockOSThread afterwards (calls balancing its own
// LockOSThread calls are fine): a locked goroutine that exits takes its
// thread with it, which is what keeps a thread in a foreign namespace from
// running other goroutines.
//
// On the process's main thread Enter returns ErrMainThread: Go never
// destroys that thread (it parks it for good instead), so the namespace
// would outlive the path. Any goroutine may happen to run on the main
// thread, so prefer Go, which avoids it. If the setns fails the thread is unchanged and
// unlocked again, and the error is returned.
func Enter(fd int) error { return enter(fd) }

// Go runs f on a new goroutine whose OS thread (never the main thread) is
// in the network namespace fd (from NS.FD), as after Enter; the thread
// exits with f. f may lock and unlock the thread in pairs, as an event
// loop that calls runtime.LockOSThread and defers UnlockOSThread does: the
// thread stays locked. It returns once the thread is in the namespace, or
// the setns error (f is then not run).
func Go(fd int, f func()) error { return goIn(fd, f) }

// Go runs f on a new goroutine in the namespace: Go(n.FD(), f).
func (n *NS) Go(f func()) error { return goIn(n.FD(), f) }

// NetemAvailable reports whether the running kernel has the sch_netem
// queueing discipline (loaded, built in, or as a module on disk). This
// package does not use it; see the package comment.
func NetemAvailable() bool { return netemAvailable() }

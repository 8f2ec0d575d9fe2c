package netpath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/internal/sock"
	"github.com/connbench/connbench/kernel"
)

// txQueueLen is the TUN devices' queue, in packets, for packets waiting for
// the forwarder to read them (the kernel's default is 500). A longer one
// absorbs the bursts of a forwarder thread waiting for a CPU.
const txQueueLen = 4096

// A long sleep in a VM wakes late (about 100 µs here after 25 ms, when the
// virtual CPU has gone idle), a short one much less. So a forwarder waiting
// longer than 2×earlyWake for its next release wakes earlyWake early, sleeps
// again until spinWake before it, and spins (reading the TUN device) for
// the rest. Dense traffic has short waits and never spins.
const (
	earlyWake = 250 * time.Microsecond
	spinWake  = 40 * time.Microsecond
)

// cpuRefresh is how often a pump publishes its thread's CPU time.
const cpuRefresh = 100 * time.Millisecond

// readBatch bounds the packets read per wake-up before the forwarder waits
// again (level-triggered, so it is woken at once if more are there).
const readBatch = 64

// pathSys is the Linux part of a Path.
type pathSys struct {
	base  time.Time     // the forwarders' clock starts here
	tun   [2]int        // TUN fds: client, server
	dev   [2]*os.File   // /proc/thread-self/net/dev of client, server
	fwd   [2]*forwarder // client→server, server→client
	pumps []*pump       // the threads that run them
	wg    sync.WaitGroup
	mu    sync.Mutex // serializes stats and close
	final *Stats     // set by close
}

func newPath(cfg Config) (p *Path, err error) {
	p = &Path{ClientAddr: clientAddr, ServerAddr: serverAddr, cfg: cfg, netem: netemAvailable()}
	s := &p.sys
	s.tun = [2]int{-1, -1}
	s.base = time.Now()
	defer func() {
		if err != nil {
			p.teardown()
			p = nil
		}
	}()
	if p.Client, err = newNS("client"); err != nil {
		return p, err
	}
	if p.Server, err = newNS("server"); err != nil {
		return p, err
	}
	for i, n := range []*NS{p.Client, p.Server} {
		local, peer := clientAddr, serverAddr
		var route netip.Prefix // the client routes its peer only
		if i == 1 {
			local, peer, route = peer, local, Prefix
		}
		err = n.Do(func() error {
			var err error
			s.tun[i], s.dev[i], err = setupSide(local, peer, route)
			return err
		})
		if err != nil {
			return p, fmt.Errorf("netpath: %s namespace: %w", n.name, err)
		}
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	for i := range s.fwd {
		s.fwd[i] = newForwarder(s.tun[i], s.tun[1-i], cfg, seed+uint64(i), s.base)
	}
	groups := [][]*forwarder{{s.fwd[0]}, {s.fwd[1]}}
	if cfg.Threads == 1 {
		groups = [][]*forwarder{s.fwd[:]}
	}
	for _, g := range groups {
		u, err := newPump(g, s.base)
		if err != nil {
			return p, err
		}
		s.pumps = append(s.pumps, u)
		s.wg.Add(1)
		ready := make(chan error, 1)
		goLocked(func() { u.run(cfg.Realtime, ready, s.wg.Done) })
		if err := <-ready; err != nil {
			return p, err
		}
	}
	return p, nil
}

// setupSide runs on a namespace's home thread: it brings lo up, disables
// IPv6 and forwarding, creates the TUN device addressed local with peer
// peer, routes route (if valid) over it, checks that the peer is routed,
// and opens the namespace's /proc/net/dev.
func setupSide(local, peer netip.Addr, route netip.Prefix) (tun int, dev *os.File, err error) {
	tun = -1
	defer func() {
		if err != nil {
			if tun >= 0 {
				unix.Close(tun)
			}
			tun, dev = -1, nil
		}
	}()
	if err := kernel.LinkUp("lo"); err != nil {
		return tun, nil, err
	}
	// Without IPv6 the TUN devices carry nothing but the traffic under
	// test (no router solicitations, no MLD reports). A kernel without
	// IPv6 has no such sysctl, which is fine.
	for _, name := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
		if err := kernel.WriteSysctl("", name, "1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return tun, nil, err
		}
	}
	// A new namespace copies net.ipv4.ip_forward from the host's (with the
	// default net.core.devconf_inherit_init_net): on a router or container
	// host it would be 1. A namespace that forwarded would answer a packet
	// for an address it does not have (a SYN-ACK to a spoofed source) with
	// an ICMP unreachable, which makes the server drop the half-open
	// connection; one that does not drops the packet silently (counted in
	// Ip.InAddrErrors).
	if err := kernel.WriteSysctl("", "net.ipv4.ip_forward", "0"); err != nil {
		return tun, nil, err
	}
	// The device is created in the namespace of the thread that opens
	// /dev/net/tun (the kernel takes it at open), which is this one.
	tun, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return tun, nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(DeviceName)
	if err != nil {
		return tun, nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(tun, unix.TUNSETIFF, ifr); err != nil {
		return tun, nil, fmt.Errorf("TUNSETIFF %s: %w", DeviceName, err)
	}
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return tun, nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(ctl)
	l4, p4 := local.As4(), peer.As4()
	steps := []struct {
		what string
		req  uint
		set  func(*unix.Ifreq) error
	}{
		{"mtu", unix.SIOCSIFMTU, func(r *unix.Ifreq) error { r.SetUint32(MTU); return nil }},
		{"txqueuelen", unix.SIOCSIFTXQLEN, func(r *unix.Ifreq) error { r.SetUint32(txQueueLen); return nil }},
		{"address", unix.SIOCSIFADDR, func(r *unix.Ifreq) error { return r.SetInet4Addr(l4[:]) }},
		{"netmask", unix.SIOCSIFNETMASK, func(r *unix.Ifreq) error { return r.SetInet4Addr([]byte{255, 255, 255, 255}) }},
		// The point-to-point peer gives the route to it.
		{"peer address", unix.SIOCSIFDSTADDR, func(r *unix.Ifreq) error { return r.SetInet4Addr(p4[:]) }},
	}
	for _, st := range steps {
		if err := st.set(ifr); err != nil {
			return tun, nil, fmt.Errorf("%s %s: %w", DeviceName, st.what, err)
		}
		if err := unix.IoctlIfreq(ctl, st.req, ifr); err != nil {
			return tun, nil, fmt.Errorf("%s %s: %w", DeviceName, st.what, err)
		}
	}
	if err := kernel.LinkUp(DeviceName); err != nil {
		return tun, nil, err
	}
	if route.IsValid() {
		if err := addRoute(route, DeviceName); err != nil {
			return tun, nil, err
		}
	}
	// A UDP connect sends nothing but fails without a route to the peer.
	udp, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return tun, nil, fmt.Errorf("socket: %w", err)
	}
	err = unix.Connect(udp, &unix.SockaddrInet4{Addr: p4, Port: 9})
	unix.Close(udp)
	if err != nil {
		return tun, nil, fmt.Errorf("no route to %s over %s: %w", peer, DeviceName, err)
	}
	// The open file stays bound to this namespace, so Stats can re-read it
	// from any thread.
	dev, err = os.Open("/proc/thread-self/net/dev")
	if err != nil {
		return tun, nil, err
	}
	return tun, dev, nil
}

// addRoute adds a route to prefix through the device dev to the main table
// of the calling thread's namespace, as "ip route add PREFIX dev DEV" does
// (scope link, no gateway), by an RTM_NEWROUTE message on a NETLINK_ROUTE
// socket, and waits for the kernel's acknowledgement.
func addRoute(prefix netip.Prefix, dev string) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("route %s dev %s: %s: %w", prefix, dev, what, err)
	}
	if !prefix.Addr().Is4() {
		return fail("prefix", errors.New("not IPv4"))
	}
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socket", err)
	}
	ifr, err := unix.NewIfreq(dev)
	if err == nil {
		err = unix.IoctlIfreq(ctl, unix.SIOCGIFINDEX, ifr)
	}
	unix.Close(ctl)
	if err != nil {
		return fail("interface index", err)
	}
	ifindex := ifr.Uint32()

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fail("netlink socket", err)
	}
	defer unix.Close(fd)
	// The kernel answers at once; the timeout only bounds one that does not.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("netlink setsockopt", err)
	}
	const seq = 1
	msg := buildNewRoute(seq, prefix, ifindex)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fail("netlink send", err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fail("netlink receive", err)
		}
		if errno, ok, err := parseAck(buf[:n], seq); err != nil {
			return fail("netlink reply", err)
		} else if ok {
			if errno != 0 {
				return fail("RTM_NEWROUTE", errno)
			}
			return nil
		}
	}
}

// parseAck looks in the netlink messages b for the acknowledgement
// (NLMSG_ERROR) of request seq: ok reports whether it is there, errno is
// what it says (0 for success). A message length shorter than a header or
// past the end of b, a short NLMSG_ERROR, or an error code that is not 0
// to -4095 is an error.
func parseAck(b []byte, seq uint32) (errno unix.Errno, ok bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofNlMsghdr {
		l := ne.Uint32(b[0:])
		if l < unix.SizeofNlMsghdr || int(l) > len(b) {
			return 0, false, fmt.Errorf("message length %d of %d bytes", l, len(b))
		}
		typ, mseq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		if typ == unix.NLMSG_ERROR && mseq == seq {
			if l < unix.SizeofNlMsghdr+4 {
				return 0, false, errors.New("short NLMSG_ERROR")
			}
			e := int32(ne.Uint32(b[unix.SizeofNlMsghdr:]))
			if e > 0 || e < -4095 { // MAX_ERRNO
				return 0, false, fmt.Errorf("error code %d is not an errno", e)
			}
			return unix.Errno(-e), true, nil
		}
		// Messages are padded to 4 bytes.
		next := min(int(l+3)&^3, len(b))
		b = b[next:]
	}
	return 0, false, nil
}

// buildNewRoute returns the RTM_NEWROUTE request for a unicast route to
// prefix through the interface ifindex in the main table, asking for an
// acknowledgement and failing if the route exists.
func buildNewRoute(seq uint32, prefix netip.Prefix, ifindex uint32) []byte {
	const attrLen = unix.SizeofRtAttr + 4 // both attributes carry 4 bytes
	b := make([]byte, unix.SizeofNlMsghdr+unix.SizeofRtMsg+2*attrLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.RTM_NEWROUTE)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(b[8:], seq)
	rt := b[unix.SizeofNlMsghdr:]
	rt[0] = unix.AF_INET        // rtm_family
	rt[1] = byte(prefix.Bits()) // rtm_dst_len
	rt[4] = unix.RT_TABLE_MAIN  // rtm_table
	rt[5] = unix.RTPROT_BOOT    // rtm_protocol, as ip(8) sets
	rt[6] = unix.RT_SCOPE_LINK  // rtm_scope: directly reachable, no gateway
	rt[7] = unix.RTN_UNICAST    // rtm_type
	a := rt[unix.SizeofRtMsg:]
	dst := prefix.Masked().Addr().As4()
	ne.PutUint16(a[0:], attrLen)
	ne.PutUint16(a[2:], unix.RTA_DST)
	copy(a[4:], dst[:])
	a = a[attrLen:]
	ne.PutUint16(a[0:], attrLen)
	ne.PutUint16(a[2:], unix.RTA_OIF)
	ne.PutUint32(a[4:], ifindex)
	return b
}

// newNS creates a namespace and its home goroutine.
func newNS(name string) (*NS, error) {
	n := &NS{name: name, fns: make(chan nsCall), quit: make(chan struct{}), done: make(chan struct{})}
	n.fd.Store(-1)
	ready := make(chan error, 1)
	goLocked(func() { n.home(ready) })
	if err := <-ready; err != nil {
		<-n.done
		return nil, err
	}
	return n, nil
}

// home is the namespace's home goroutine, run by goLocked: when it
// returns, Go destroys the thread, and with it the thread's hold on the
// namespace.
func (n *NS) home(ready chan<- error) {
	defer close(n.done)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) {
			err = fmt.Errorf("netpath: creating the %s network namespace needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): unshare: %w", n.name, err)
		} else {
			err = fmt.Errorf("netpath: %s namespace: unshare: %w", n.name, err)
		}
		ready <- err
		return
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		ready <- fmt.Errorf("netpath: %s namespace: %w", n.name, err)
		return
	}
	n.fd.Store(int32(fd))
	ready <- nil
	for {
		select {
		case c := <-n.fns:
			c.res <- c.f()
		case <-n.quit:
			return
		}
	}
}

// close ends the home goroutine and closes the namespace's descriptor.
func (n *NS) close() {
	n.once.Do(func() { close(n.quit) })
	<-n.done
	if fd := n.fd.Swap(-1); fd >= 0 {
		unix.Close(int(fd))
	}
}

// teardown releases whatever newPath got so far, or everything.
func (p *Path) teardown() {
	s := &p.sys
	p.stopPumps()
	for i := range s.tun {
		if s.dev[i] != nil {
			s.dev[i].Close()
			s.dev[i] = nil
		}
		if s.tun[i] >= 0 {
			unix.Close(s.tun[i])
			s.tun[i] = -1
		}
	}
	for _, n := range []*NS{p.Client, p.Server} {
		if n != nil {
			n.close()
		}
	}
}

func (p *Path) close() error {
	s := &p.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != nil {
		return nil
	}
	p.stopPumps()
	st := p.collect()
	s.final = &st
	p.teardown()
	return nil
}

// stopPumps stops the forwarding threads and waits for them to exit.
func (p *Path) stopPumps() {
	s := &p.sys
	for _, u := range s.pumps {
		u.stop.Store(true)
		u.p.Wake()
	}
	s.wg.Wait()
	for _, u := range s.pumps {
		u.p.Close()
	}
	s.pumps = nil
}

func (p *Path) stats() Stats {
	s := &p.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != nil {
		st := *s.final
		st.ClientToServer.AddedDelay = st.ClientToServer.AddedDelay.Clone()
		st.ServerToClient.AddedDelay = st.ServerToClient.AddedDelay.Clone()
		return st
	}
	return p.collect()
}

// collect gathers the forwarders' counts and the kernel's TUN drops.
func (p *Path) collect() Stats {
	s := &p.sys
	st := Stats{Mechanism: Mechanism, NetemAvailable: p.netem, Config: p.cfg}
	st.ClientToServer = s.fwd[0].stats()
	st.ServerToClient = s.fwd[1].stats()
	for _, f := range s.fwd {
		st.CPU += time.Duration(f.cpu.Load())
	}
	var rx, tx [2]int64
	for i, f := range s.dev {
		var err error
		rx[i], tx[i], err = readDevDrops(f)
		if err != nil {
			// The drops are unknown: count them as an error, not as 0.
			st.ClientToServer.Errors++
		}
	}
	// Client→server: queued at the client's device, injected at the
	// server's; and the reverse.
	st.ClientToServer.KernelDropped = tx[0] + rx[1]
	st.ServerToClient.KernelDropped = tx[1] + rx[0]
	return st
}

// readDevDrops re-reads a namespace's /proc/net/dev from the start.
func readDevDrops(f *os.File) (rx, tx int64, err error) {
	return parseDevDrops(io.NewSectionReader(f, 0, 1<<20), DeviceName)
}

// forwarder moves one direction's packets from src to dst. It is run by
// one pump, on that pump's thread; its counters are read by Stats.
type forwarder struct {
	src, dst int
	q        *queue
	sh       *shaper
	base     time.Time
	scratch  []byte // a packet that finds the queue full is read here

	packets, bytes       atomic.Int64
	fwdPackets, fwdBytes atomic.Int64
	dropLoss, dropSYN    atomic.Int64
	dropQueue, errs      atomic.Int64
	cpu                  atomic.Int64 // its pump's thread CPU time, ns (on one forwarder per pump)

	mu   sync.Mutex // guards hist against stats
	hist *histogram.Recorder
}

func newForwarder(src, dst int, cfg Config, seed uint64, base time.Time) *forwarder {
	return &forwarder{
		src: src, dst: dst,
		q:       newQueue(cfg.queueLen()),
		sh:      newShaper(cfg, seed),
		base:    base,
		scratch: make([]byte, slotSize),
		hist:    histogram.New(),
	}
}

// now reads the monotonic clock (through the vDSO; time.Since of a time
// with a monotonic reading does not read the wall clock).
func (f *forwarder) now() int64 { return int64(time.Since(f.base)) }

// pump is a thread that runs one or both forwarders: it waits in
// epoll_pwait2 for their TUN devices to have packets or their next packet
// to fall due.
type pump struct {
	p    *sock.Poller
	fwds []*forwarder
	base time.Time
	stop atomic.Bool
}

func newPump(fwds []*forwarder, base time.Time) (*pump, error) {
	p, err := sock.NewPoller(8)
	if err != nil {
		return nil, fmt.Errorf("netpath: %w", err)
	}
	for i, f := range fwds {
		if err := p.Add(f.src, unix.EPOLLIN, int32(i), 0); err != nil {
			p.Close()
			return nil, fmt.Errorf("netpath: epoll add TUN: %w", err)
		}
	}
	return &pump{p: p, fwds: fwds, base: base}, nil
}

func (u *pump) now() int64 { return int64(time.Since(u.base)) }

// run is the pump's loop, run by goLocked: the thread's timer slack (and
// with realtime its scheduling policy) is changed, so it must not go on to
// run other goroutines, and Go destroys it when run returns. It reports on
// ready whether it started.
func (u *pump) run(realtime bool, ready chan<- error, done func()) {
	defer done()
	// The default 50 µs of timer slack would let every timed wake-up be
	// late by that much.
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	if realtime {
		// The lowest real-time priority: above every normal thread, so
		// the load the path carries cannot hold its packets back.
		if err := unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 1}, 0); err != nil {
			ready <- fmt.Errorf("netpath: Realtime: sched_setattr SCHED_FIFO (needs CAP_SYS_NICE): %w", err)
			return
		}
	}
	ready <- nil
	u0, s0 := kernel.ThreadCPU()
	publish := func() {
		us, ss := kernel.ThreadCPU()
		u.fwds[0].cpu.Store(int64(us - u0 + ss - s0))
	}
	defer publish()
	lastCPU := u.now()
	warm := false // the last timed wait stopped earlyWake before a release
	for {
		wait := time.Duration(-1)
		if next, ok := u.releaseDue(); ok {
			rem := time.Duration(next - u.now())
			switch {
			case rem <= 0:
				continue
			case rem > 2*earlyWake:
				wait, warm = rem-earlyWake, true
			case warm && rem > spinWake:
				wait = rem - spinWake
			case warm:
				// Spin the last few microseconds, still reading.
				for u.now() < next && !u.stop.Load() {
					for _, f := range u.fwds {
						f.readAll()
					}
				}
				warm = false
				continue
			default:
				wait = rem
			}
		}
		evs, _, err := u.p.Wait(wait)
		if err != nil {
			u.fwds[0].errs.Add(1)
			return
		}
		if u.stop.Load() {
			return
		}
		for _, ev := range evs {
			u.fwds[ev.Fd].readAll()
		}
		if now := u.now(); now-lastCPU >= int64(cpuRefresh) {
			lastCPU = now
			publish()
		}
	}
}

// releaseDue releases what is due in every forwarder and returns the
// earliest release time still queued, if any.
func (u *pump) releaseDue() (next int64, ok bool) {
	for _, f := range u.fwds {
		if f.q.n == 0 {
			continue
		}
		f.releaseDue()
		if f.q.n > 0 {
			if _, rel := f.q.front(); !ok || rel < next {
				next, ok = rel, true
			}
		}
	}
	return next, ok
}

// readAll reads up to readBatch packets, drops or queues each, forwards it
// at once if it is due now and nothing is ahead of it, and releases queued
// packets that fall due meanwhile.
func (f *forwarder) readAll() {
	for range readBatch {
		full := f.q.full()
		buf := f.scratch
		if !full {
			buf = f.q.tail()
		}
		n, err := sock.Read(f.src, buf)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				f.errs.Add(1)
			}
			return
		}
		now := f.now()
		f.packets.Add(1)
		f.bytes.Add(int64(n))
		pkt := buf[:n]
		switch f.sh.judge(pkt, now) {
		case dropLoss:
			f.dropLoss.Add(1)
			continue
		case dropSYN:
			f.dropSYN.Add(1)
			continue
		}
		if full {
			f.dropQueue.Add(1)
			continue
		}
		rel := f.sh.release(now, n)
		if rel <= now && f.q.n == 0 {
			f.deliver(pkt, rel)
			continue
		}
		f.q.push(n, rel)
		if _, r := f.q.front(); r <= now {
			f.releaseDue()
		}
	}
}

// releaseDue forwards every queued packet that is due.
func (f *forwarder) releaseDue() {
	now := f.now()
	for f.q.n > 0 {
		pkt, rel := f.q.front()
		if rel > now {
			break
		}
		now = f.deliver(pkt, rel)
		f.q.pop()
	}
}

// deliver writes pkt, due at rel, to the receiving namespace, records how
// late it was handed over, and returns the time after the write. The write
// runs the receiving stack (TCP included) on this thread; that time is not
// counted as delay, as it is the work loopback would do too.
func (f *forwarder) deliver(pkt []byte, rel int64) int64 {
	t := f.now()
	_, err := sock.Write(f.dst, pkt)
	if err != nil {
		f.errs.Add(1)
		return f.now()
	}
	f.fwdPackets.Add(1)
	f.fwdBytes.Add(int64(len(pkt)))
	f.mu.Lock()
	f.hist.Record(t - rel)
	f.mu.Unlock()
	return f.now()
}

// stats returns the forwarder's counts and a copy of its histogram.
func (f *forwarder) stats() DirStats {
	d := DirStats{
		Packets:          f.packets.Load(),
		Bytes:            f.bytes.Load(),
		ForwardedPackets: f.fwdPackets.Load(),
		ForwardedBytes:   f.fwdBytes.Load(),
		DroppedLoss:      f.dropLoss.Load(),
		DroppedSYN:       f.dropSYN.Load(),
		DroppedQueue:     f.dropQueue.Load(),
		Errors:           f.errs.Load(),
	}
	f.mu.Lock()
	d.AddedDelay = f.hist.Clone()
	f.mu.Unlock()
	return d
}

func enter(fd int) error {
	runtime.LockOSThread()
	if onMainThread() {
		runtime.UnlockOSThread()
		return ErrMainThread
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netpath: setns: %w", err)
	}
	return nil
}

func goIn(fd int, f func()) error {
	errc := make(chan error, 1)
	goLocked(func() {
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netpath: setns: %w", err)
			return
		}
		errc <- nil
		f()
	})
	return <-errc
}

// onMainThread reports whether the calling thread is the process's main
// thread (its thread id is the process id).
func onMainThread() bool { return unix.Gettid() == unix.Getpid() }

// goLocked runs f on a new goroutine locked to an OS thread other than the
// main one, and never unlocked: the thread exits with f. Go cannot destroy
// the main thread (a locked goroutine exiting there parks it for good), so
// a namespace or timer slack set there would outlive f.
func goLocked(f func()) {
	go func() {
		runtime.LockOSThread()
		if !onMainThread() {
			f()
			return
		}
		// While this goroutine holds the main thread, the new one cannot
		// be placed on it. Once it has its own thread, let this one go.
		started := make(chan struct{})
		goLocked(func() {
			close(started)
			f()
		})
		<-started
		runtime.UnlockOSThread()
	}()
}

// netemAvailable looks for sch_netem loaded (/sys/module), as a module on
// disk (/lib/modules/RELEASE) or built in (modules.builtin, or the kernel
// config in /proc/config.gz or /boot).
func netemAvailable() bool {
	if _, err := os.Stat("/sys/module/sch_netem"); err == nil {
		return true
	}
	rel := kernel.KernelRelease()
	if rel == "" {
		return false
	}
	mods := filepath.Join("/lib/modules", rel)
	if m, _ := filepath.Glob(filepath.Join(mods, "kernel/net/sched/sch_netem.ko*")); len(m) > 0 {
		return true
	}
	if b, err := os.ReadFile(filepath.Join(mods, "modules.builtin")); err == nil && containsLine(b, "kernel/net/sched/sch_netem.ko") {
		return true
	}
	for _, path := range []string{"/proc/config.gz", "/boot/config-" + rel} {
		if f, err := os.Open(path); err == nil {
			ok := configHasNetem(f)
			f.Close()
			if ok {
				return true
			}
		}
	}
	return false
}

package listener

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/connbench/connbench/internal/sock"
	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

// listenTag marks events of a listening socket; connections use their fd.
const listenTag = -2

// cpuRefresh is how often a loop refreshes its published CPU time.
const cpuRefresh = 20 * time.Millisecond

// idleWait bounds a loop's epoll wait, so that it notices the stall knob and
// refreshes its CPU time without being woken.
const idleWait = 50 * time.Millisecond

// emfileRetry is how long a Leak loop leaves the listening socket alone
// after accept ran out of descriptors. Without Leak the next close frees
// one and the level-triggered socket wakes the loop again; with Leak the
// descriptors are never given back, and the loop would spin on it.
const emfileRetry = 20 * time.Millisecond

// Listener is a running built-in listener. Close stops it.
type Listener struct {
	cfg   Config
	http  *httpResponses // HTTP mode's canned responses
	addr  netip.AddrPort
	loops []*loop
	lfds  []int
	start time.Time // when the loops started: the accept pause counts from here
	maxFD int       // the open-file limit at Start: descriptors stay below it; 0: unknown
	wg    sync.WaitGroup
	stop  atomic.Bool
	once  sync.Once
	tls   *tlsServer // Config.TLS: the TLS side instead of the loops
}

type counters struct {
	accepted, closed, requests, bytesIn, bytesOut, resets, errors atomic.Int64
	leaked, released                                              atomic.Int64 // Leak: connections leaked, and their descriptors closed by Close
	idleClosed                                                    atomic.Int64 // IdleClose: connections closed for being idle
	cpuUser, cpuSys                                               atomic.Int64
	spinNs, spinHits                                              atomic.Int64 // Config.Spin: time polling before sleeps, and polls that found events
	cpuAsk, cpuDone                                               atomic.Int64 // CPU refresh requests and answers
}

// addTo adds c's figures to s and returns the leaked descriptors Close
// released. Effects are read before causes (a loop closes or leaks a
// connection after accepting it, releases a leaked one after leaking it),
// so that a loop counting meanwhile cannot make Open or Descriptors
// negative.
func (c *counters) addTo(s *Stats) (released int64) {
	released = c.released.Load()
	s.Leaked += c.leaked.Load()
	s.IdleClosed += c.idleClosed.Load()
	s.Closed += c.closed.Load()
	s.Accepted += c.accepted.Load()
	s.Requests += c.requests.Load()
	s.BytesReceived += c.bytesIn.Load()
	s.BytesSent += c.bytesOut.Load()
	s.Resets += c.resets.Load()
	s.Errors += c.errors.Load()
	s.CPUUser += time.Duration(c.cpuUser.Load())
	s.CPUSys += time.Duration(c.cpuSys.Load())
	s.Spin += time.Duration(c.spinNs.Load())
	s.SpinHits += c.spinHits.Load()
	return released
}

// conn is an accepted connection's state, indexed by its descriptor: 24
// bytes, so that a listener holding hundreds of thousands of idle
// connections (a hold) keeps little per connection. What only the echo
// and HTTP modes need is in a connExtra of its own, made on first need
// (its fields are promoted: c.echo, c.skip, c.pend).
type conn struct {
	open    bool
	leaked  bool  // Leak: peer closed, descriptor kept, out of the epoll set
	blocked bool  // waiting for EPOLLOUT to write the rest
	last    uint8 // HTTP: the final response queued (then close); httpKeep: none
	got     int32 // bytes of the current request received so far
	owed    int64 // response bytes still to write
	*connExtra
}

// connExtra is the state of an echo connection the socket did not take a
// whole echo from, of an HTTP connection, or of any connection when
// IdleClose is on.
type connExtra struct {
	echo []byte // Echo: its last owed bytes are those the socket did not take yet (at most one read)
	skip int64  // HTTP: request body bytes still to read past
	pend []byte // HTTP: the start of a request head split across reads
	// IdleClose: when a byte last moved (ns since Start, as of the loop's
	// wake-up), and the links of the loop's idle list (fds; -1: none).
	seen         int64
	iprev, inext int32
}

// extra makes c's connExtra on first need.
func (c *conn) extra() {
	if c.connExtra == nil {
		c.connExtra = &connExtra{iprev: -1, inext: -1}
	}
}

type loop struct {
	l     *Listener
	p     *sock.Poller
	lfd   int
	lev   uint32        // events lfd is registered for
	armed bool          // lfd is in p; the accept knobs take it out
	gated bool          // an accept knob is set: check mayAccept
	next  time.Duration // no accept before this, since Start (AcceptDelay, EMFILE under Leak)
	conns []conn        // indexed by fd
	buf   []byte
	resp  []byte
	c     counters
	sa    unix.RawSockaddrAny
	// IdleClose: the loop's connections ordered by their last activity,
	// least recent first (fds; -1: none), and the time of the current
	// wake-up (ns since Start), read once per wake-up.
	idleHead, idleTail int32
	now                int64
	// live counts the loop's open connections: with any, it spins before
	// it sleeps (Config.Spin).
	live int
	spin sock.Spin
}

// Start binds the listening socket(s) and starts the loops. Errors name the
// address and the step that failed (EADDRINUSE on bind, EACCES for a
// privileged port, ...).
func Start(cfg Config) (*Listener, error) {
	c := cfg.withDefaults()
	if c.Loops <= 0 {
		c.Loops = runtime.NumCPU()
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	l := &Listener{cfg: c}
	if c.TLS != nil {
		return startTLS(l, c)
	}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur < 1<<24 {
		l.maxFD = int(rl.Cur)
	}
	nsock := 1
	if c.ReusePort {
		nsock = c.Loops
	}
	addr := c.Addr
	for i := 0; i < nsock; i++ {
		fd, bound, err := listenSocket(addr, &c)
		if err != nil {
			l.closeFDs()
			return nil, err
		}
		l.lfds = append(l.lfds, fd)
		if i == 0 {
			// Later reuseport sockets bind the port the first one got.
			addr, l.addr = bound, bound
		}
	}
	resp := make([]byte, max(c.ResponseSize, 1))
	if len(resp) > 256<<10 {
		resp = resp[:256<<10]
	}
	for i := range resp {
		resp[i] = 'x'
	}
	if c.Mode == HTTP {
		l.http = newHTTPResponses(c.ResponseSize, len(resp))
	}
	for i := 0; i < c.Loops; i++ {
		p, err := sock.NewPoller(256)
		if err != nil {
			l.closeFDs()
			for _, lp := range l.loops {
				lp.p.Close()
			}
			return nil, fmt.Errorf("listener: %w", err)
		}
		lp := &loop{l: l, p: p, lfd: l.lfds[i%len(l.lfds)], buf: make([]byte, readBufferBytes), resp: resp, idleHead: -1, idleTail: -1, spin: sock.Spin{Max: c.Spin}}
		lp.lev = unix.EPOLLIN
		if !c.ReusePort && c.Loops > 1 {
			// One shared socket: wake one loop per connection, not all.
			// (The kernel then refuses EPOLL_CTL_MOD on it: the accept
			// knobs take it out of the set and put it back instead.)
			lp.lev |= unix.EPOLLEXCLUSIVE
		}
		lp.armed = true
		lp.gated = c.AcceptDelay > 0 || c.AcceptPauseFor > 0 || c.Leak
		if err := p.Add(lp.lfd, lp.lev, listenTag, 0); err != nil {
			p.Close()
			l.closeFDs()
			return nil, fmt.Errorf("listener: epoll add: %w", err)
		}
		l.loops = append(l.loops, lp)
	}
	l.start = time.Now()
	for _, lp := range l.loops {
		l.wg.Add(1)
		go lp.run()
	}
	return l, nil
}

func listenSocket(addr netip.AddrPort, c *Config) (int, netip.AddrPort, error) {
	family := unix.AF_INET
	if addr.Addr().Is6() && !addr.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := sock.Socket(family)
	if err != nil {
		return -1, addr, fmt.Errorf("listener: socket: %w", err)
	}
	fail := func(step string, err error) (int, netip.AddrPort, error) {
		sock.Close(fd)
		return -1, addr, fmt.Errorf("listener: %s %s: %w", step, addr, err)
	}
	if c.ReuseAddr {
		if err := sock.SetInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt SO_REUSEADDR", err)
		}
	}
	if c.ReusePort {
		if err := sock.SetInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("setsockopt SO_REUSEPORT", err)
		}
	}
	if c.FastOpenQueue > 0 {
		// Set before listen(), so that no connection queued meanwhile
		// misses it. It only takes effect with bit 0x2 of
		// net.ipv4.tcp_fastopen, which is the administrator's.
		if err := sock.SetInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, c.FastOpenQueue); err != nil {
			return fail("setsockopt TCP_FASTOPEN", err)
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().Unmap().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, c.Backlog); err != nil {
		return fail("listen", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	bound := addr
	switch s := got.(type) {
	case *unix.SockaddrInet4:
		bound = netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
	case *unix.SockaddrInet6:
		bound = netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
	}
	return fd, bound, nil
}

// Addr is the address the listener is bound to (with the real port).
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Config returns the configuration in force, defaults filled in.
func (l *Listener) Config() Config { return l.cfg }

// Stats sums the loops' counters. It asks every loop to publish its CPU
// time first and waits up to 100 ms for the answers (a loop busy with a long
// batch may answer late; its figure then lags by up to cpuRefresh).
func (l *Listener) Stats() Stats {
	if l.tls != nil {
		var s Stats
		l.tls.stats(&s)
		return s
	}
	if !l.stop.Load() {
		var asks []int64
		for _, lp := range l.loops {
			asks = append(asks, lp.c.cpuAsk.Add(1))
			lp.p.Wake()
		}
		deadline := time.Now().Add(100 * time.Millisecond)
		for i, lp := range l.loops {
			for lp.c.cpuDone.Load() < asks[i] && time.Now().Before(deadline) && !l.stop.Load() {
				runtime.Gosched()
			}
		}
	}
	var s Stats
	var released int64
	for _, lp := range l.loops {
		released += lp.c.addTo(&s)
	}
	s.Open = s.Accepted - s.Closed - s.Leaked
	s.Descriptors = s.Open + s.Leaked - released
	return s
}

// Close stops the loops, closes every connection (leaked ones too) and
// listening socket, and waits for the loops to exit. It is safe to call more
// than once.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.stop.Store(true)
		if l.tls != nil {
			l.tls.close()
		}
		for _, lp := range l.loops {
			lp.p.Wake()
		}
		l.wg.Wait()
		l.closeFDs()
	})
	return nil
}

func (l *Listener) closeFDs() {
	for _, fd := range l.lfds {
		sock.Close(fd)
	}
	l.lfds = nil
}

func (lp *loop) run() {
	runtime.LockOSThread()
	defer lp.l.wg.Done()
	defer runtime.UnlockOSThread()
	u0, s0 := kernel.ThreadCPU()
	last := time.Now()
	publish := func() {
		u, s := kernel.ThreadCPU()
		lp.c.cpuUser.Store(int64(u - u0))
		lp.c.cpuSys.Store(int64(s - s0))
	}
	started, stalled := time.Now(), false
	cfg := &lp.l.cfg
	for !lp.l.stop.Load() {
		if !stalled && cfg.StallFor > 0 && cfg.StallAfter > 0 && time.Since(started) >= cfg.StallAfter {
			// The test knob: the whole loop hangs, as a stuck server does.
			stalled = true
			time.Sleep(cfg.StallFor)
		}
		timeout := idleWait
		if lp.gated {
			timeout = lp.gate(timeout)
		}
		if cfg.IdleClose > 0 {
			timeout = lp.idleTimeout(timeout)
		}
		evs, _, spun, hit, err := lp.spin.Wait(lp.p, timeout, lp.live > 0)
		if spun > 0 {
			lp.c.spinNs.Add(int64(spun))
			if hit {
				lp.c.spinHits.Add(1)
			}
		}
		if err != nil {
			lp.c.errors.Add(1)
			break
		}
		if cfg.IdleClose > 0 {
			lp.now = int64(time.Since(lp.l.start))
		}
		for i := range evs {
			ev := &evs[i]
			if ev.Fd == listenTag {
				lp.accept()
				continue
			}
			lp.serve(int(ev.Fd), ev.Events)
		}
		if cfg.IdleClose > 0 {
			// After the events: a request that arrived with this
			// wake-up is served, not cut off.
			lp.closeIdle()
		}
		if ask := lp.c.cpuAsk.Load(); ask != lp.c.cpuDone.Load() {
			publish()
			lp.c.cpuDone.Store(ask)
		} else if now := time.Now(); now.Sub(last) >= cpuRefresh {
			last = now
			publish()
		}
	}
	for fd := range lp.conns {
		switch {
		case lp.conns[fd].open:
			lp.closeConn(fd)
		case lp.conns[fd].leaked:
			lp.conns[fd] = conn{}
			sock.Close(fd)
			lp.c.released.Add(1)
		}
	}
	publish()
	lp.p.Close()
}

// gate applies the accept knobs before a wait. While the loop may not
// accept, the listening socket is out of its epoll set: it is
// level-triggered, and left in, a queued connection would end every wait at
// once. The returned timeout is cut short to end when that may change.
func (lp *loop) gate(timeout time.Duration) time.Duration {
	now := time.Since(lp.l.start)
	ok, change := lp.mayAccept(now)
	lp.arm(ok)
	if change > now && change-now < timeout {
		timeout = change - now
	}
	return timeout
}

// mayAccept reports whether the loop may accept at now (since Start), and
// the next time after now at which the answer may change (0: none).
func (lp *loop) mayAccept(now time.Duration) (ok bool, change time.Duration) {
	ok = true
	if now < lp.next {
		ok = false
		change = lp.next
	}
	if cfg := &lp.l.cfg; cfg.AcceptPauseFor > 0 {
		from := cfg.AcceptPauseAfter
		to := from + cfg.AcceptPauseFor
		if to < from {
			to = 1<<63 - 1 // overflow: the pause lasts
		}
		if now >= from && now < to {
			ok = false
		}
		change = sooner(change, from, now)
		change = sooner(change, to, now)
	}
	return ok, change
}

// sooner returns t if it is after now and before change (or change is 0),
// else change.
func sooner(change, t, now time.Duration) time.Duration {
	if t > now && (change == 0 || t < change) {
		return t
	}
	return change
}

// arm puts the listening socket into the loop's epoll set (on) or takes it
// out. It is removed and added again rather than modified, because
// epoll_ctl refuses EPOLL_CTL_MOD (EINVAL) on an EPOLLEXCLUSIVE one; adding
// a socket that has connections queued reports it ready at once.
func (lp *loop) arm(on bool) {
	if on == lp.armed {
		return
	}
	var err error
	if on {
		err = lp.p.Add(lp.lfd, lp.lev, listenTag, 0)
	} else {
		err = lp.p.Del(lp.lfd)
	}
	if err != nil {
		lp.c.errors.Add(1)
		return
	}
	lp.armed = on
}

func (lp *loop) accept() {
	cfg := &lp.l.cfg
	// Accept until the queue is empty (EAGAIN), in batches: a wake-up
	// takes at most MaxAcceptBatch, then the loop serves what it has.
	for n := 0; n < MaxAcceptBatch; n++ {
		if lp.gated {
			// Checked per connection: AcceptDelay allows one, and the
			// pause may begin during a batch.
			if ok, _ := lp.mayAccept(time.Since(lp.l.start)); !ok {
				lp.arm(false)
				return
			}
		}
		var sa *unix.RawSockaddrAny
		if cfg.OnAccept != nil {
			sa = &lp.sa
		}
		fd, err := sock.Accept(lp.lfd, sa)
		if err != nil {
			if err != unix.EAGAIN && err != unix.ECONNABORTED {
				// EMFILE/ENFILE: leave the rest in the queue; the next
				// close frees a descriptor and the level-triggered
				// listener wakes us again. Leaked descriptors are never
				// freed: retry later instead.
				lp.c.errors.Add(1)
				if cfg.Leak && (err == unix.EMFILE || err == unix.ENFILE) {
					lp.next = time.Since(lp.l.start) + emfileRetry
					lp.arm(false)
				}
			}
			return
		}
		lp.c.accepted.Add(1)
		if cfg.AcceptDelay > 0 {
			// Counted from the accept itself, not from its wake-up.
			lp.next = time.Since(lp.l.start) + cfg.AcceptDelay
		}
		if cfg.OnAccept != nil {
			cfg.OnAccept(peerAddr(&lp.sa))
		}
		if cfg.NoDelay {
			sock.SetInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		if fd >= len(lp.conns) {
			// Doubled, but never past the open-file limit: no
			// descriptor reaches it.
			n := max(2*len(lp.conns), fd+1, 1024)
			if lim := lp.l.maxFD; lim > fd {
				n = min(n, lim)
			}
			grown := make([]conn, n)
			copy(grown, lp.conns)
			lp.conns = grown
		}
		lp.conns[fd] = conn{open: true}
		lp.live++
		if cfg.Mode == HTTP || cfg.IdleClose > 0 {
			lp.conns[fd].extra() // here, not on the serving path
		}
		if cfg.IdleClose > 0 {
			lp.now = int64(time.Since(lp.l.start))
			lp.touch(fd)
		}
		if err := lp.p.Add(fd, unix.EPOLLIN, int32(fd), 0); err != nil {
			lp.c.errors.Add(1)
			lp.closeConn(fd)
		}
	}
}

func peerAddr(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		s := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		s := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

func (lp *loop) serve(fd int, events uint32) {
	if fd >= len(lp.conns) || !lp.conns[fd].open {
		return
	}
	c := &lp.conns[fd]
	if events&unix.EPOLLOUT != 0 {
		if lp.l.cfg.IdleClose > 0 {
			lp.touch(fd) // a blocked response moves on
		}
		if !lp.flush(fd, c) {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
		return
	}
	if c.blocked && lp.l.cfg.Mode == Echo {
		// An echo not yet out: no reading until it is (see echo). Only
		// EPOLLERR or EPOLLHUP bring us here, and they would again on
		// every wait.
		lp.c.errors.Add(1)
		lp.closeConn(fd)
		return
	}
	// Level-triggered: one read per wake-up. If more is queued than the
	// buffer holds, epoll reports the socket again; no draining read that
	// ends in EAGAIN is spent on every request.
	n, err := sock.Recv(fd, lp.buf)
	if err != nil {
		if err == unix.EAGAIN {
			return
		}
		if errors.Is(err, unix.ECONNRESET) {
			lp.c.resets.Add(1)
		} else {
			lp.c.errors.Add(1)
		}
		lp.closeConn(fd)
		return
	}
	if n == 0 {
		if lp.l.cfg.Leak {
			lp.leak(fd)
			return
		}
		lp.closeConn(fd)
		return
	}
	lp.c.bytesIn.Add(int64(n))
	cfg := &lp.l.cfg
	if cfg.IdleClose > 0 {
		lp.touch(fd)
	}
	switch cfg.Mode {
	case Discard:
		return
	case Echo:
		lp.echo(fd, c, lp.buf[:n])
		return
	case HTTP:
		lp.serveHTTP(c, lp.buf[:n])
		if c.owed == 0 {
			return
		}
	default:
		got := int(c.got) + n
		k := got / cfg.RequestSize
		c.got = int32(got % cfg.RequestSize)
		if k == 0 {
			return
		}
		lp.c.requests.Add(int64(k))
		c.owed += int64(k) * int64(cfg.ResponseSize)
	}
	lp.flush(fd, c)
}

// echo writes b, just read, back. What the socket does not take is copied
// to c.echo, and the connection leaves reading for writing (EPOLLOUT only)
// until flush has written it: an echo connection holds at most one read's
// worth of bytes (MaxEchoPending). A peer that sends and never reads
// fills the socket buffers and is then held back by TCP's flow control,
// not by the listener's memory.
func (lp *loop) echo(fd int, c *conn, b []byte) {
	for len(b) > 0 {
		n, err := sock.Send(fd, b)
		if err == unix.EAGAIN {
			c.extra()
			c.echo = append(c.echo[:0], b...)
			c.owed = int64(len(b))
			c.blocked = true
			if err := lp.p.Mod(fd, unix.EPOLLOUT, int32(fd), 0); err != nil {
				lp.c.errors.Add(1)
				lp.closeConn(fd)
			}
			return
		}
		if err != nil {
			lp.writeFailed(fd, err)
			return
		}
		lp.c.bytesOut.Add(int64(n))
		b = b[n:]
	}
}

// writeFailed counts a failed write (a reset or another error) and closes
// the connection.
func (lp *loop) writeFailed(fd int, err error) {
	if errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) {
		lp.c.resets.Add(1)
	} else {
		lp.c.errors.Add(1)
	}
	lp.closeConn(fd)
}

// flush writes what is owed. It returns false if the connection was closed.
func (lp *loop) flush(fd int, c *conn) bool {
	mode := lp.l.cfg.Mode
	for c.owed > 0 {
		var chunk []byte
		switch mode {
		case Echo:
			chunk = c.echo[len(c.echo)-int(c.owed):]
		case HTTP:
			chunk = lp.l.http.chunk(c, lp.resp)
		default:
			chunk = lp.resp[:min(c.owed, int64(len(lp.resp)))]
		}
		n, err := sock.Send(fd, chunk)
		if err != nil {
			if err == unix.EAGAIN {
				// Socket buffer full: ask for EPOLLOUT and go on then.
				if !c.blocked {
					c.blocked = true
					if err := lp.p.Mod(fd, unix.EPOLLIN|unix.EPOLLOUT, int32(fd), 0); err != nil {
						lp.c.errors.Add(1)
						lp.closeConn(fd)
						return false
					}
				}
				return true
			}
			lp.writeFailed(fd, err)
			return false
		}
		lp.c.bytesOut.Add(int64(n))
		c.owed -= int64(n)
	}
	if mode == Echo && c.connExtra != nil {
		c.echo = c.echo[:0] // kept: the next blocked echo needs no allocation
	}
	if c.last != httpKeep {
		// HTTP: the response that ends the connection is out.
		lp.closeConn(fd)
		return false
	}
	if c.blocked {
		// Level-triggered EPOLLOUT would fire on every wait: drop it.
		c.blocked = false
		if err := lp.p.Mod(fd, unix.EPOLLIN, int32(fd), 0); err != nil {
			lp.c.errors.Add(1)
			lp.closeConn(fd)
			return false
		}
	}
	return true
}

// leak is Config.Leak's answer to the peer's close: the connection leaves
// the epoll set (its end of stream would end every wait at once) but keeps
// its descriptor, so the socket stays in CLOSE_WAIT until Close.
func (lp *loop) leak(fd int) {
	lp.unlinkIdle(fd)
	lp.conns[fd] = conn{leaked: true}
	lp.live--
	if err := lp.p.Del(fd); err != nil {
		lp.c.errors.Add(1)
	}
	lp.c.leaked.Add(1)
}

func (lp *loop) closeConn(fd int) {
	lp.unlinkIdle(fd)
	lp.conns[fd] = conn{}
	lp.live--
	sock.Close(fd)
	lp.c.closed.Add(1)
}

// The idle list (Config.IdleClose): a loop's connections in the order a
// byte last moved on them, so the idlest is at the head and each check
// looks at no more than the connections it closes. Moving a connection to
// the tail is O(1), and the time is read once per wake-up, not per request.

// touch marks activity on fd now (lp.now): it moves to the list's tail.
func (lp *loop) touch(fd int) {
	lp.unlinkIdle(fd)
	c := &lp.conns[fd]
	c.seen = lp.now
	c.iprev, c.inext = lp.idleTail, -1
	if lp.idleTail >= 0 {
		lp.conns[lp.idleTail].inext = int32(fd)
	} else {
		lp.idleHead = int32(fd)
	}
	lp.idleTail = int32(fd)
}

// unlinkIdle takes fd off the idle list, if it is on it.
func (lp *loop) unlinkIdle(fd int) {
	if lp.l.cfg.IdleClose <= 0 || fd >= len(lp.conns) {
		return
	}
	c := &lp.conns[fd]
	if !c.open || (c.iprev < 0 && c.inext < 0 && lp.idleHead != int32(fd)) {
		return // not on the list
	}
	if c.iprev >= 0 {
		lp.conns[c.iprev].inext = c.inext
	} else {
		lp.idleHead = c.inext
	}
	if c.inext >= 0 {
		lp.conns[c.inext].iprev = c.iprev
	} else {
		lp.idleTail = c.iprev
	}
	c.iprev, c.inext = -1, -1
}

// closeIdle closes the connections idle for IdleClose at lp.now.
func (lp *loop) closeIdle() {
	limit := int64(lp.l.cfg.IdleClose)
	for lp.idleHead >= 0 {
		fd := int(lp.idleHead)
		if lp.now-lp.conns[fd].seen < limit {
			return
		}
		lp.closeConn(fd)
		lp.c.idleClosed.Add(1)
	}
}

// idleTimeout cuts a wait short to end when the idlest connection's time
// is up.
func (lp *loop) idleTimeout(timeout time.Duration) time.Duration {
	if lp.idleHead < 0 {
		return timeout
	}
	due := time.Duration(lp.conns[lp.idleHead].seen) + lp.l.cfg.IdleClose - time.Since(lp.l.start)
	return max(min(timeout, due), 0)
}

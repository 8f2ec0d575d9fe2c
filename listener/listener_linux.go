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

// Listener is a running built-in listener. Close stops it.
type Listener struct {
	cfg   Config
	http  *httpResponses // HTTP mode's canned responses
	addr  netip.AddrPort
	loops []*loop
	lfds  []int
	wg    sync.WaitGroup
	stop  atomic.Bool
	once  sync.Once
}

type counters struct {
	accepted, closed, requests, bytesIn, bytesOut, resets, errors atomic.Int64
	cpuUser, cpuSys                                               atomic.Int64
	cpuAsk, cpuDone                                               atomic.Int64 // CPU refresh requests and answers
}

type conn struct {
	open    bool
	blocked bool   // waiting for EPOLLOUT to write the rest
	got     int32  // bytes of the current request received so far
	owed    int64  // response bytes still to write
	echo    []byte // echo bytes the socket did not take yet
	// HTTP mode
	last uint8  // the final response queued (then close); httpKeep: none
	skip int64  // request body bytes still to read past
	pend []byte // the start of a request head split across reads
}

type loop struct {
	l     *Listener
	p     *sock.Poller
	lfd   int
	conns []conn // indexed by fd
	buf   []byte
	resp  []byte
	c     counters
	sa    unix.RawSockaddrAny
}

// Start binds the listening socket(s) and starts the loops. Errors name the
// address and the step that failed (EADDRINUSE on bind, EACCES for a
// privileged port, ...).
func Start(cfg Config) (*Listener, error) {
	c := cfg.withDefaults()
	if c.Loops <= 0 {
		c.Loops = runtime.NumCPU()
	}
	if c.RequestSize < 0 || c.ResponseSize < 0 {
		return nil, fmt.Errorf("listener: negative request or response size")
	}
	l := &Listener{cfg: c}
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
		lp := &loop{l: l, p: p, lfd: l.lfds[i%len(l.lfds)], buf: make([]byte, 64<<10), resp: resp}
		ev := uint32(unix.EPOLLIN)
		if !c.ReusePort && c.Loops > 1 {
			// One shared socket: wake one loop per connection, not all.
			ev |= unix.EPOLLEXCLUSIVE
		}
		if err := p.Add(lp.lfd, ev, listenTag, 0); err != nil {
			p.Close()
			l.closeFDs()
			return nil, fmt.Errorf("listener: epoll add: %w", err)
		}
		l.loops = append(l.loops, lp)
	}
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
	for _, lp := range l.loops {
		c := &lp.c
		s.Accepted += c.accepted.Load()
		s.Closed += c.closed.Load()
		s.Requests += c.requests.Load()
		s.BytesReceived += c.bytesIn.Load()
		s.BytesSent += c.bytesOut.Load()
		s.Resets += c.resets.Load()
		s.Errors += c.errors.Load()
		s.CPUUser += time.Duration(c.cpuUser.Load())
		s.CPUSys += time.Duration(c.cpuSys.Load())
	}
	s.Open = s.Accepted - s.Closed
	return s
}

// Close stops the loops, closes every connection and listening socket, and
// waits for the loops to exit. It is safe to call more than once.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.stop.Store(true)
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
		evs, _, err := lp.p.Wait(50 * time.Millisecond)
		if err != nil {
			lp.c.errors.Add(1)
			break
		}
		for i := range evs {
			ev := &evs[i]
			if ev.Fd == listenTag {
				lp.accept()
				continue
			}
			lp.serve(int(ev.Fd), ev.Events)
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
		if lp.conns[fd].open {
			lp.closeConn(fd)
		}
	}
	publish()
	lp.p.Close()
}

func (lp *loop) accept() {
	cfg := &lp.l.cfg
	for {
		var sa *unix.RawSockaddrAny
		if cfg.OnAccept != nil {
			sa = &lp.sa
		}
		fd, err := sock.Accept(lp.lfd, sa)
		if err != nil {
			if err != unix.EAGAIN && err != unix.ECONNABORTED {
				// EMFILE/ENFILE: leave the rest in the queue; the next
				// close frees a descriptor and the level-triggered
				// listener wakes us again.
				lp.c.errors.Add(1)
			}
			return
		}
		lp.c.accepted.Add(1)
		if cfg.OnAccept != nil {
			cfg.OnAccept(peerAddr(&lp.sa))
		}
		if cfg.NoDelay {
			sock.SetInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		if fd >= len(lp.conns) {
			n := max(2*len(lp.conns), fd+1, 1024)
			grown := make([]conn, n)
			copy(grown, lp.conns)
			lp.conns = grown
		}
		lp.conns[fd] = conn{open: true}
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
		if !lp.flush(fd, c) {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
		return
	}
	// Level-triggered: one read per wake-up. If more is queued than the
	// buffer holds, epoll reports the socket again; no draining read that
	// ends in EAGAIN is spent on every request.
	n, err := sock.Read(fd, lp.buf)
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
		lp.closeConn(fd)
		return
	}
	lp.c.bytesIn.Add(int64(n))
	cfg := &lp.l.cfg
	switch cfg.Mode {
	case Discard:
		return
	case Echo:
		c.echo = append(c.echo, lp.buf[:n]...)
		c.owed += int64(n)
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

// flush writes what is owed. It returns false if the connection was closed.
func (lp *loop) flush(fd int, c *conn) bool {
	mode := lp.l.cfg.Mode
	echo := mode == Echo
	for c.owed > 0 {
		var chunk []byte
		switch mode {
		case Echo:
			chunk = c.echo
		case HTTP:
			chunk = lp.l.http.chunk(c, lp.resp)
		default:
			chunk = lp.resp[:min(c.owed, int64(len(lp.resp)))]
		}
		n, err := sock.Write(fd, chunk)
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
			if errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) {
				lp.c.resets.Add(1)
			} else {
				lp.c.errors.Add(1)
			}
			lp.closeConn(fd)
			return false
		}
		lp.c.bytesOut.Add(int64(n))
		c.owed -= int64(n)
		if echo {
			c.echo = c.echo[n:]
		}
	}
	if echo {
		c.echo = c.echo[:0]
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

func (lp *loop) closeConn(fd int) {
	lp.conns[fd] = conn{}
	sock.Close(fd)
	lp.c.closed.Add(1)
}

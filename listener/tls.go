package listener

// The built-in listener over TLS. crypto/tls needs a blocking net.Conn, so
// this side is not the epoll loops: each connection is served by a
// goroutine locked to a thread for the connection's life, so that the
// thread's CPU clock is the connection's. The CPU is published after the
// handshake and after every response (Stats is exact at those points), and
// the handshakes' own CPU is counted apart: what a server pays per
// handshake, full or resumed, is what operators size for.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

// TLSHandshakeTimeout bounds a TLS handshake on the listener.
const TLSHandshakeTimeout = 10 * time.Second

// tlsServer is the listener's TLS side.
type tlsServer struct {
	l    *Listener
	ln   net.Listener
	resp []byte
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
	bufs sync.Pool // read buffers of connections at work (idle ones hold none)
	c    counters
	// handshakes done, resumed, failed; CPU (ns, thread clock) inside the
	// handshakes, all and resumed ones.
	hs, resumed, hsFailed, hsCPU, hsCPUResumed atomic.Int64
}

// startTLS starts the listener l (its address bound by the caller's
// settings in c) serving TLS with c.TLS.
func startTLS(l *Listener, c Config) (*Listener, error) {
	if c.AcceptDelay > 0 || c.AcceptPauseFor > 0 || c.Leak || c.StallFor > 0 || c.FastOpenQueue > 0 {
		return nil, errors.New("listener: TLS is served by a goroutine per connection: the event loops' knobs (accept delay and pause, leak, stall, Fast Open) do not apply")
	}
	// ReusePort: one listening socket all the same (its SO_REUSEPORT lets
	// other processes share the port: a --procs run's listeners).
	fd, bound, err := listenSocket(c.Addr, &c)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	ln, err := net.FileListener(f) // a dup registered with Go's poller
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("listener: tls: %w", err)
	}
	l.addr = bound
	resp := bytes.Repeat([]byte("x"), min(max(c.ResponseSize, 1), 256<<10))
	if c.Mode == HTTP {
		l.http = newHTTPResponses(c.ResponseSize, len(resp))
	}
	s := &tlsServer{l: l, ln: ln, resp: resp, open: map[net.Conn]struct{}{}}
	l.tls = s
	l.start = time.Now()
	s.wg.Add(1)
	go s.accept()
	return l, nil
}

func (s *tlsServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.l.stop.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.c.errors.Add(1)
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				time.Sleep(10 * time.Millisecond) // let connections close
			}
			continue
		}
		s.c.accepted.Add(1)
		if f := s.l.cfg.OnAccept; f != nil {
			if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
				f(a.AddrPort())
			}
		}
		// Go's net sets TCP_NODELAY on accepted connections, as nginx
		// does: a TLS server writes its flights and records apart, and
		// Nagle would hold one behind the peer's delayed ACK.
		s.mu.Lock()
		if s.l.stop.Load() {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.open[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(nc)
	}
}

// threadNow is the calling thread's CPU clock (CLOCK_THREAD_CPUTIME_ID).
func threadNow() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}

// tlsConn is one connection the TLS side serves. Its goroutine is locked
// to a thread while it works (the handshake, a request and its response),
// so that the thread's CPU clock is the connection's; while it waits for
// a request with nothing buffered it gives the thread back (wait): a
// goroutine locked to its thread keeps the thread through its sleeps, and
// a hold of thousands of idle connections would be thousands of threads
// (Go stops the process at 10,000). Idle, it keeps no read buffer either
// (bufs).
type tlsConn struct {
	s      *tlsServer
	nc     net.Conn
	tc     *tls.Conn
	rc     syscall.RawConn // nil: wait in tc.Read itself, thread kept
	u0, s0 time.Duration
}

// publish adds the thread's CPU since the last publish to the counters.
func (c *tlsConn) publish() {
	u, sy := kernel.ThreadCPU()
	c.s.c.cpuUser.Add(int64(u - c.u0))
	c.s.c.cpuSys.Add(int64(sy - c.s0))
	c.u0, c.s0 = u, sy
}

// past is a deadline already passed: a read with it returns what
// crypto/tls already holds, or a timeout at once without touching the
// socket. A timeout is not a lasting error in crypto/tls (it may be read
// again).
var past = time.Unix(1, 0)

// read reads into (*bp)[off:], taking a buffer from the pool when *bp is
// nil. What crypto/tls holds is read at once; with nothing held, it
// publishes the CPU so far, gives back the thread (and the buffer, when
// it holds nothing: off 0) and waits in Go's poller for the socket to be
// readable (under the keep-alive deadline), then locks a thread again.
func (c *tlsConn) read(bp *[]byte, off int) (int, error) {
	s := c.s
	if *bp == nil {
		*bp = s.getBuf()
	}
	if c.rc == nil {
		s.idle(c.tc)
		return c.tc.Read((*bp)[off:])
	}
	c.tc.SetReadDeadline(past)
	n, err := c.tc.Read((*bp)[off:])
	c.tc.SetReadDeadline(time.Time{})
	s.idle(c.tc)
	if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return n, err
	}
	if off == 0 {
		s.putBuf(*bp)
		*bp = nil
	}
	c.publish()
	runtime.UnlockOSThread()
	var perr error
	werr := c.rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, perr = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return perr != unix.EAGAIN && perr != unix.EINTR // data or the end (tc.Read reads it), or an error
	})
	runtime.LockOSThread()
	c.u0, c.s0 = kernel.ThreadCPU()
	if werr == nil && perr != nil {
		// The socket's error (a reset) is reported once, here: the read
		// after it would see only an end. (With werr, the keep-alive
		// deadline passed: tc.Read says so.)
		return 0, perr
	}
	if *bp == nil {
		*bp = s.getBuf()
	}
	return c.tc.Read((*bp)[off:])
}

// putBuf gives a read buffer back to the pool.
func (s *tlsServer) putBuf(b []byte) {
	if b != nil {
		s.bufs.Put(&b)
	}
}

// getBuf takes a read buffer from the pool.
func (s *tlsServer) getBuf() []byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return *b
	}
	n := readBufferBytes
	if s.l.cfg.Mode == HTTP {
		n += maxRequestHead
	}
	return make([]byte, n)
}

// serve runs one connection: the handshake, then requests in lockstep.
func (s *tlsServer) serve(nc net.Conn) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer s.wg.Done()
	c := &tlsConn{s: s, nc: nc}
	c.u0, c.s0 = kernel.ThreadCPU()
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
		}
	}
	publish := c.publish
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.open, nc)
		s.mu.Unlock()
		s.c.closed.Add(1)
		publish()
	}()
	tc := tls.Server(nc, s.l.cfg.TLS)
	nc.SetDeadline(time.Now().Add(TLSHandshakeTimeout))
	t0 := threadNow()
	err := tc.Handshake()
	cpu := threadNow() - t0
	if err != nil {
		s.hsFailed.Add(1)
		s.c.errors.Add(1)
		return
	}
	nc.SetDeadline(time.Time{})
	s.hsCPU.Add(cpu)
	s.hs.Add(1)
	if tc.ConnectionState().DidResume {
		s.resumed.Add(1)
		s.hsCPUResumed.Add(cpu)
	}
	publish()
	c.tc = tc
	if s.l.cfg.Mode == HTTP {
		s.serveHTTP(c)
	} else {
		s.serveRaw(c)
	}
	// Tell the client the stream ends (close_notify), bounded.
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	tc.Close()
}

// idle arms the keep-alive timeout (Config.IdleClose) before a read.
func (s *tlsServer) idle(tc *tls.Conn) {
	if d := s.l.cfg.IdleClose; d > 0 {
		tc.SetReadDeadline(time.Now().Add(d))
	}
}

func (s *tlsServer) ioError(err error) {
	if err == nil || errors.Is(err, io.EOF) || s.l.stop.Load() {
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && s.l.cfg.IdleClose > 0 {
		s.c.idleClosed.Add(1) // idle for IdleClose: closed as a keep-alive timeout
		return
	}
	if errors.Is(err, unix.ECONNRESET) {
		s.c.resets.Add(1)
		return
	}
	s.c.errors.Add(1)
}

// serveRaw answers every RequestSize bytes with ResponseSize bytes (Respond),
// echoes (Echo) or swallows (Discard).
func (s *tlsServer) serveRaw(c *tlsConn) {
	cfg := &s.l.cfg
	tc, publish := c.tc, c.publish
	var buf []byte
	defer func() { s.putBuf(buf) }()
	var got int64
	for {
		n, err := c.read(&buf, 0)
		if n > 0 {
			s.c.bytesIn.Add(int64(n))
			switch cfg.Mode {
			case Echo:
				if _, err := tc.Write(buf[:n]); err != nil {
					s.ioError(err)
					return
				}
				s.c.bytesOut.Add(int64(n))
			case Respond:
				got += int64(n)
				for got >= int64(cfg.RequestSize) {
					got -= int64(cfg.RequestSize)
					if !s.write(tc, int64(cfg.ResponseSize), nil) {
						return
					}
					s.c.requests.Add(1)
					publish()
				}
			}
		}
		if err != nil {
			s.ioError(err)
			return
		}
	}
}

// write sends head, then body bytes of 'x'.
func (s *tlsServer) write(tc *tls.Conn, body int64, head []byte) bool {
	if len(head) > 0 {
		if _, err := tc.Write(head); err != nil {
			s.ioError(err)
			return false
		}
		s.c.bytesOut.Add(int64(len(head)))
	}
	for body > 0 {
		n := min(body, int64(len(s.resp)))
		if _, err := tc.Write(s.resp[:n]); err != nil {
			s.ioError(err)
			return false
		}
		s.c.bytesOut.Add(n)
		body -= n
	}
	return true
}

// serveHTTP answers HTTP/1.x requests with the epoll listener's parser and
// canned responses, closing after a final one.
func (s *tlsServer) serveHTTP(c *tlsConn) {
	h := s.l.http
	tc, publish := c.tc, c.publish
	var pc conn
	pc.extra() // the HTTP state the epoll listener keeps apart
	var lp loop
	var buf []byte
	defer func() { s.putBuf(buf) }()
	have := 0
	for {
		n, err := c.read(&buf, have)
		if n > 0 {
			s.c.bytesIn.Add(int64(n))
		}
		have += n
		for {
			b := buf[:have]
			if pc.skip > 0 {
				k := min(pc.skip, int64(len(b)))
				pc.skip -= k
				copy(buf, b[k:])
				have -= int(k)
				continue
			}
			end := bytes.Index(b, crlfcrlf)
			if end < 0 {
				if have >= maxRequestHead {
					r := h.final[httpTooLong]
					if s.write(tc, 0, r.b) {
						s.c.requests.Add(1) // answered, as the epoll listener counts it
					}
					return
				}
				break
			}
			kind := lp.parseRequest(&pc, b[:end+4])
			copy(buf, b[end+4:])
			have -= end + 4
			r := h.keep
			if kind != httpKeep {
				r = h.final[kind]
			}
			if !s.write(tc, r.total-int64(len(r.b)), r.b) {
				return
			}
			s.c.requests.Add(1)
			publish()
			if kind != httpKeep {
				return
			}
		}
		if err != nil {
			s.ioError(err)
			return
		}
	}
}

// stats adds the TLS side's figures to st.
func (s *tlsServer) stats(st *Stats) {
	s.c.addTo(st) // the TLS side leaks nothing
	st.Open = st.Accepted - st.Closed
	st.Descriptors = st.Open
	st.TLSHandshakes = s.hs.Load()
	st.TLSResumed = s.resumed.Load()
	st.TLSFailed = s.hsFailed.Load()
	st.TLSHandshakeCPU = time.Duration(s.hsCPU.Load())
	st.TLSResumedCPU = time.Duration(s.hsCPUResumed.Load())
}

// close stops accepting, closes every connection and waits for their
// goroutines.
func (s *tlsServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for nc := range s.open {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

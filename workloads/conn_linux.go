package workloads

import (
	"unsafe"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/internal/sock"
	"github.com/connbench/connbench/protocol"
	"golang.org/x/sys/unix"
)

// Connection states.
const (
	stIdle       uint8 = iota // no connection
	stConnecting              // handshake in progress
	stWriting                 // request partly written, waiting for room
	stReading                 // waiting for the response
	stReady                   // open-loop pool: connected, waiting for its next scheduled transaction
	stHeld                    // kept open, idle until its timer: the server closing it is a failure
	stParked                  // persistent connection parked at the end of the run
	stSpare                   // no connection, but the last one's socket, reset and kept for the next (engine.reuse)
)

// Registration for every client socket: edge-triggered, so one epoll_ctl per
// connection covers connect completion, writability and readability.
const clientEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

type conn struct {
	fd        int32
	gen       int32
	state     uint8
	timer     uint8
	meas      bool // the current transaction (or pool connect) is recorded
	busy      bool // a transaction is in progress on this slot
	early     bool // connect() returned before the handshake (Fast Open): no handshake time
	fresh     bool // the connection was opened for the transaction in progress (not taken from the pool)
	wrOff     int32
	uses      int32 // transactions completed on this connection (--requests-per-conn)
	rdGot     int64 // response bytes read
	tConn     int64 // connect() call, ns since the engine's base
	tTx       int64 // transaction start (actual)
	tIntended int64 // transaction start as scheduled (open loop)
	tSent     int64 // request fully written
	tFirst    int64 // first response byte
	due       int64 // timer deadline
	prev      int32 // timer list links (slot indices, -1 = none)
	next      int32
}

// SlotBytes is the memory the engine keeps per connection slot, allocated
// (and touched) up front for every connection a run may hold at once.
const SlotBytes = int(unsafe.Sizeof(conn{}))

// dial opens a connection on slot s and starts its handshake.
func (l *loop) dial(s int32) {
	c := &l.conns[s]
	// A spare socket (the slot's last connection, reset) is open, set up
	// and in the epoll set already: it connects again as it is.
	spare := c.state == stSpare
	if !spare {
		src := 0
		if l.e.dial.NumSources() > 1 {
			// One shared counter so that the sources take turns evenly
			// whichever loop does the work.
			src = int(l.e.srcNext.Add(1))
		}
		fd, err := l.e.dial.Open(src)
		if err != nil {
			l.failed(s, err)
			return
		}
		c.gen++
		c.fd = int32(fd)
	}
	fd := int(c.fd)
	var err error
	if spare && c.meas {
		l.reused++
	}
	c.tConn = l.e.now()
	c.tTx = c.tConn
	c.wrOff, c.early = 0, false
	c.uses, c.fresh = 0, c.busy
	if l.e.fastopen == dialer.FastOpenSendto && c.busy {
		// sendto(MSG_FASTOPEN) connects and queues the request (in the
		// SYN if a cookie is cached); either way the handshake is pending.
		// (An open-loop pool connection carries no request yet: it
		// connects plainly.)
		var n int
		n, err = l.e.dial.SendFastOpen(fd, l.e.cfg.Request)
		c.wrOff = int32(n)
		if err == nil {
			err = unix.EINPROGRESS
		}
	} else {
		err = l.e.dial.Connect(fd)
	}
	// One clock read per connection, for the time inside connect() (the
	// kernel's port search) and for the loop's pass bound.
	l.clk = l.e.now()
	if c.meas {
		d := l.clk - c.tConn
		l.connCalls++
		l.connNs += d
		l.iv.connCalls++
		l.iv.connNs += d
		if l.e.cfg.PortRange > 0 {
			l.recordCC(l.e.band.Load(), d)
		}
	}
	if err != nil && err != unix.EINPROGRESS {
		l.failed(s, err)
		return
	}
	if !spare {
		if perr := l.p.Add(fd, clientEvents, s, c.gen); perr != nil {
			l.failed(s, perr)
			return
		}
	}
	if err == nil {
		// Done at once: with TCP_FASTOPEN_CONNECT and a cookie cached,
		// connect() returns before the SYN has even left.
		c.early = l.e.fastopen == dialer.FastOpenConnect
		l.connected(s, l.e.now())
		return
	}
	c.state = stConnecting
	if to := l.e.cfg.Timeouts.Connect; to > 0 {
		l.arm(s, tlConnect, c.tConn+int64(to))
	}
}

func (l *loop) event(slot, gen int32, ev uint32) {
	if slot < 0 || int(slot) >= len(l.conns) {
		return
	}
	c := &l.conns[slot]
	if c.gen != gen || c.fd < 0 {
		return // stale: the connection this was for is gone
	}
	switch c.state {
	case stConnecting:
		if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			err := dialer.SocketError(int(c.fd))
			if err == nil {
				err = unix.ECONNRESET
			}
			l.failed(slot, err)
			return
		}
		if ev&unix.EPOLLOUT != 0 {
			l.disarm(slot)
			l.connected(slot, l.e.now())
		}
	case stWriting:
		l.write(slot)
	case stReading:
		l.read(slot)
	case stHeld:
		if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			// A held connection the server closed or reset.
			err := dialer.SocketError(int(c.fd))
			if err == nil {
				err = dialer.ErrShortRead
			}
			l.failed(slot, err)
		}
	case stReady:
		if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			// The server closed an idle pool connection (a keep-alive
			// timeout): replace it.
			if l.e.now() >= l.e.measureAt {
				l.serverClosed++
			}
			l.unready(slot)
			l.closeFD(slot)
			l.pending = append(l.pending, slot)
		}
	}
}

// connected finishes a handshake that completed at t.
func (l *loop) connected(s int32, t int64) {
	c := &l.conns[s]
	if c.meas {
		if !c.early {
			l.record(phHandshake, t-c.tConn)
			if l.e.tcpinfo {
				l.handshakeInfo(s)
			}
		}
		l.connections++
		l.iv.conns++
	}
	if h := l.e.mode.connected; h != nil {
		h(l, s, t)
		return
	}
	if !l.e.exchange {
		l.finish(s, t)
		return
	}
	if c.wrOff > 0 {
		// Fast Open sendto() queued (part of) the request with the SYN.
		c.rdGot = 0
		c.state = stWriting
		if int(c.wrOff) == len(l.e.cfg.Request) {
			l.sent(s, c.tConn)
			// The server may have answered with its SYN-ACK, and that
			// edge was this event: read now, or never hear of it.
			l.read(s)
			return
		}
		l.write(s)
		return
	}
	if !c.busy {
		c.state = stReady // an open-loop pool connection, ready for work
		l.ready = append(l.ready, s)
		return
	}
	l.send(s)
}

func (l *loop) send(s int32) {
	c := &l.conns[s]
	c.wrOff, c.rdGot = 0, 0
	c.state = stWriting
	l.write(s)
}

func (l *loop) write(s int32) {
	c := &l.conns[s]
	req := l.e.cfg.Request
	for int(c.wrOff) < len(req) {
		n, err := sock.Send(int(c.fd), req[c.wrOff:])
		if err != nil {
			if err == unix.EAGAIN {
				return // edge-triggered EPOLLOUT brings us back
			}
			l.failed(s, err)
			return
		}
		c.wrOff += int32(n)
	}
	l.sent(s, l.e.now())
}

// sent marks the request fully written at t and waits for the response.
func (l *loop) sent(s int32, t int64) {
	c := &l.conns[s]
	c.tSent = t
	c.state = stReading
	if to := l.e.cfg.Timeouts.Response; to > 0 {
		l.arm(s, tlResponse, c.tSent+int64(to))
	}
	// No read attempt here: the response cannot be there yet, and a read
	// that fails with EAGAIN is a syscall spent on nothing. The edge on
	// EPOLLIN brings us back when the first byte arrives.
}

func (l *loop) read(s int32) {
	if l.framers != nil {
		l.readFramed(s)
		return
	}
	c := &l.conns[s]
	want := int64(l.e.cfg.ResponseSize)
	var t int64 // when the last read returned: one clock read per read
	for c.rdGot < want {
		// Read no more than the response: the rest of the stream, if any,
		// belongs to the next transaction.
		n, err := sock.Recv(int(c.fd), l.buf[:min(int(want-c.rdGot), len(l.buf))])
		if err != nil {
			if err == unix.EAGAIN {
				return
			}
			l.failed(s, err)
			return
		}
		if n == 0 {
			l.failed(s, dialer.ErrShortRead)
			return
		}
		t = l.e.now()
		if c.rdGot == 0 {
			c.tFirst = t
		}
		c.rdGot += int64(n)
	}
	if t == 0 {
		t = l.e.now() // nothing to read: a zero-byte response
	}
	l.disarm(s)
	if c.meas {
		l.responded(s, t)
	}
	l.finish(s, t)
}

// readFramed reads what the socket has, a loop buffer at a time, and feeds
// it to the slot's framer until the response is complete. The request was
// answered in lockstep, so bytes past the response's end are a protocol
// error, not the next response.
func (l *loop) readFramed(s int32) {
	c := &l.conns[s]
	f := l.framers[s]
	for {
		n, err := sock.Recv(int(c.fd), l.buf)
		if err != nil {
			if err == unix.EAGAIN {
				return
			}
			l.failed(s, err)
			return
		}
		if n == 0 {
			if c.rdGot > 0 && f.EOF() {
				l.framed(s, f, true) // an HTTP body that ends with the connection
				return
			}
			l.failed(s, dialer.ErrShortRead)
			return
		}
		if c.rdGot == 0 {
			c.tFirst = l.e.now()
			f.Reset()
		}
		c.rdGot += int64(n)
		used, done, perr := f.Feed(l.buf[:n])
		if perr != nil {
			l.failed(s, perr)
			return
		}
		if done {
			if used < n {
				l.failed(s, l.e.trailing)
				return
			}
			l.framed(s, f, false)
			return
		}
		// Read on to EAGAIN even after a short read: a FIN queued behind
		// the data brings no new edge.
	}
}

// framed completes a framed response; closed: the peer has closed.
func (l *loop) framed(s int32, f protocol.Framer, closed bool) {
	c := &l.conns[s]
	t := l.e.now()
	l.disarm(s)
	if c.meas {
		l.responded(s, t)
		l.status[f.Status()]++
	}
	if l.e.persistent && (closed || !f.Reusable()) {
		// The server ends the connection with this response (HTTP
		// "Connection: close", a body delimited by the close): the next
		// transaction on this slot opens a new one.
		l.closeFD(s)
		if c.meas {
			l.serverClosed++
		}
	}
	l.finish(s, t)
}

// responded records a measured response completed at t.
func (l *loop) responded(s int32, t int64) {
	c := &l.conns[s]
	l.record(phFirstByte, c.tFirst-c.tSent)
	l.record(phResponse, t-c.tSent)
	l.bytesOut += int64(len(l.e.cfg.Request))
	l.bytesIn += c.rdGot
	l.iv.out += int64(len(l.e.cfg.Request))
	l.iv.in += c.rdGot
	if l.e.persistent {
		return
	}
	// The transaction opened this connection.
	first := c.tFirst - c.tConn
	l.record(phConnFirst, first)
	if l.e.fastopen == dialer.FastOpenOff {
		return
	}
	// The response is in, so the SYN-ACK was processed: TCP_INFO knows
	// whether the server took the data in the SYN.
	info, err := dialer.ReadTCPInfo(int(c.fd), &l.tinfo)
	if err != nil {
		return
	}
	l.ti.FastOpen++
	if info.SYNData {
		l.ti.SYNData++
		l.record(phFOWarm, first)
	} else {
		l.record(phFOCold, first)
	}
}

// handshakeInfo reads TCP_INFO right after a measured handshake: were SYNs
// retransmitted on the way?
func (l *loop) handshakeInfo(s int32) {
	info, err := dialer.ReadTCPInfo(int(l.conns[s].fd), &l.tinfo)
	if err != nil {
		return
	}
	l.ti.Handshakes++
	if info.Retrans > 0 {
		l.ti.Retransmitted++
	}
	l.ti.RTOs += int64(info.RTO)
	l.ti.HasRTO = l.ti.HasRTO || info.HasRTO
}

// finish completes the slot's transaction at t and moves the slot on.
func (l *loop) finish(s int32, t int64) {
	c := &l.conns[s]
	if h := l.e.mode.finish; h != nil {
		h(l, s, t)
		return
	}
	if c.meas {
		l.record(phTransaction, t-c.tTx)
		if l.e.open {
			l.record(phScheduled, t-c.tIntended)
		}
		l.transactions++
		l.iv.tx++
		l.lastEnd = t
	}
	c.busy = false
	l.inflight--
	e := l.e
	if e.persistent && c.fd >= 0 {
		// The pool's reuse limits, checked as a transaction ends: a
		// connection is never cut in the middle of one. Closing it here
		// (with --close fin or rst, as set on the socket) sends the slot
		// down the reconnect path below, like a server's close.
		c.uses++
		c.fresh = false
		if (e.perConn > 0 && c.uses >= e.perConn) || (e.maxAge > 0 && t-c.tConn >= e.maxAge) {
			l.end(s)
			if c.meas {
				l.recycled++
			}
		}
	}
	switch {
	case !e.persistent:
		l.end(s)
		if e.open {
			l.free = append(l.free, s)
		} else {
			l.start(s)
		}
	case c.fd < 0 || c.state == stSpare:
		// A persistent connection the server closed with the response
		// (framed), or one recycled at a reuse limit: reconnect, for the next scheduled transaction
		// (open loop) or for the next transaction at once.
		if e.open {
			l.pending = append(l.pending, s)
		} else {
			l.start(s)
		}
	case e.open:
		c.state = stReady
		l.ready = append(l.ready, s)
	default:
		if !l.claim(s, t, t) {
			c.state = stParked
			return
		}
		c.tTx = e.now()
		l.send(s)
	}
}

// failed counts err against the slot's transaction (or pool connect),
// closes the connection and makes the slot available again.
func (l *loop) failed(s int32, err error) {
	c := &l.conns[s]
	if h := l.e.mode.failed; h != nil {
		h(l, s, err)
		return
	}
	if l.retry(s, err) {
		return
	}
	if c.meas {
		class := classify(err)
		l.fail[class]++
		l.iv.fail[class]++
		now := l.e.now()
		l.lastEnd = now
		if class == dialer.FailAddrNotAvail && l.firstNotAvail < 0 {
			l.firstNotAvail = now
		}
	}
	if c.busy {
		c.busy = false
		l.inflight--
	}
	if c.fd >= 0 {
		l.closeFD(s)
	}
	if l.e.open && !l.e.persistent {
		l.free = append(l.free, s)
	} else {
		l.pending = append(l.pending, s)
	}
}

// retry handles a transaction that met a pooled connection the server had
// closed: the connection was taken from the pool (not opened for this
// transaction), not one response byte came back, and the connection ended
// (end of stream, ECONNRESET, EPIPE). A server closes an idle keep-alive
// connection at any moment, and a request may cross its FIN; HTTP clients
// retry such a request on a new connection (RFC 9110 section 9.2.2, as
// Go's http.Transport does), and so does the engine, once: the
// transaction goes on, from its original start, on a new connection whose
// handshake it pays. The retry is counted (Result.Retried), not the
// failure; a failure on the new connection is a failure. It reports
// whether it took the slot over.
func (l *loop) retry(s int32, err error) bool {
	c := &l.conns[s]
	if !l.e.persistent || !c.busy || c.fresh || c.fd < 0 || c.rdGot > 0 ||
		(c.state != stWriting && c.state != stReading) || !peerClosed(err) {
		return false
	}
	l.closeFD(s)
	if c.meas {
		l.serverClosed++
		l.retried++
	}
	// dial starts the clock of a transaction that opens its connection;
	// this one began earlier, on the connection that is gone.
	tTx := c.tTx
	l.dial(s)
	if c.busy {
		c.tTx = tTx
	}
	return true
}

// peerClosed reports whether err says the peer ended the connection.
func peerClosed(err error) bool {
	return err == dialer.ErrShortRead || err == unix.ECONNRESET || err == unix.EPIPE
}

// Reset attempts a loop makes before it judges them, and the share of
// them that must succeed for it to go on: with --close fin a socket is only
// reused when the server closed first, and where this side closes first
// every attempt would cost a getsockopt for nothing.
const (
	resetTrial   = 256
	resetPayback = 8 // at least 1 in resetPayback
)

// end ends slot s's connection after its transaction: reset, keeping the
// socket for the slot's next connection, where the engine reuses sockets
// (engine.reuse) and the reset succeeds, else closed.
func (l *loop) end(s int32) {
	if l.e.reuse && (l.resetTries < resetTrial || l.resetOK*resetPayback >= l.resetTries) {
		c := &l.conns[s]
		l.disarm(s)
		l.resetTries++
		if l.e.dial.Reset(int(c.fd)) == nil {
			l.resetOK++
			c.state = stSpare
			return
		}
	}
	l.closeFD(s)
}

func (l *loop) closeFD(s int32) {
	c := &l.conns[s]
	l.disarm(s)
	sock.Close(int(c.fd))
	c.fd = -1
	c.state = stIdle
}

// classify names err's failure class: protocol.FailProtocol for a
// malformed response, protocol.FailTooLarge for one past the framer's
// bounds, else dialer.Classify's errno or timeout class.
func classify(err error) string {
	if class := protocol.Class(err); class != "" {
		return class
	}
	return dialer.Classify(err)
}

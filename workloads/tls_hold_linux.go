package workloads

// The hold workload over TLS. Opening is the TLS path's as for any other
// workload: -n connections due on the --rate schedule, each a TCP connect
// and a TLS handshake on one of the path's workers (a goroutine locked to
// a thread, at most --max-inflight of them: the handshakes in flight).
// Once its handshake is done a connection is handed to tlsHold, which
// keeps it in a slice: no goroutine, no thread, only the connection's own
// memory (the tls.Conn and its buffers, the *os.File in Go's poller). With
// --ping D a few goroutines (tlsPingers) sweep the held connections round
// robin, each connection once per D, spread over D. At the hold's end all
// are closed at once: with a reset by default (SO_LINGER 0 is set on the
// socket when it is made, and no close_notify is sent), or with
// close_notify and a FIN with --close fin.

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

// tlsPingers bounds the goroutines that ping held TLS connections. A ping
// on loopback takes tens of µs of one of them, so 8 keep up with 10,000
// connections pinged every second on a 2-core machine.
const tlsPingers = 8

// tlsHold is what a TLS hold shares: the held connections and the clock
// of the hold (as holdState is for the engine).
type tlsHold struct {
	mu    sync.Mutex
	conns []*tlsConn // held; nil: lost (the server closed it, a ping failed)

	opened   atomic.Int64  // handshakes (TCP and TLS) completed
	openLeft atomic.Int64  // attempts not yet resolved
	openDone atomic.Int64  // ns since base when the last one resolved; 0: not yet
	end      atomic.Int64  // ns since base when the hold ends; 0: not yet known
	known    chan struct{} // closed when end is set
	over     chan struct{} // closed when the hold ends (or the run is stopped)
	overOnce sync.Once
}

func newTLSHold(n int64) *tlsHold {
	h := &tlsHold{known: make(chan struct{}), over: make(chan struct{})}
	h.openLeft.Store(n)
	return h
}

func (h *tlsHold) finish() { h.overOnce.Do(func() { close(h.over) }) }

// resolved counts one attempt resolved at now; the last starts the hold's
// clock, once the other processes of a run split over processes opened
// theirs too (Config.HoldRelease).
func (e *tlsEngine) resolved(now int64) {
	h := e.hold
	if h.openLeft.Add(-1) == 0 {
		h.openDone.Store(now)
		if release := e.cfg.HoldRelease; release != nil {
			go func() {
				release()
				h.end.Store(e.now() + int64(e.cfg.Duration))
				close(h.known)
			}()
			return
		}
		h.end.Store(now + int64(e.cfg.Duration))
		close(h.known)
	}
}

// runHold is a worker of a TLS hold: it opens the connections due on the
// schedule, one at a time, and hands each to the hold.
func (w *tlsWorker) runHold() {
	e := w.e
	h := e.hold
	for {
		if e.stop.Load() || e.drain.Load() {
			return
		}
		k := e.nextK.Add(1) - 1
		if k >= e.cfg.Requests {
			return
		}
		intended := e.sched.at(k)
		if !e.sleepUntil(intended, h.over) {
			return
		}
		now := e.now()
		tx := &w.tx
		*tx = tlsTx{meas: true, holdOpen: true}
		for j := range tx.ph {
			tx.ph[j] = -1
		}
		tx.ph[tpStartLag] = now - intended
		e.inflight.Add(1)
		if err := w.open(); err != nil {
			e.inflight.Add(-1)
			w.fail(err)
			e.resolved(e.now())
			continue
		}
		c := w.conn
		w.conn = nil
		w.cur.Store(nil)
		c.f.SetDeadline(time.Time{})
		h.mu.Lock()
		h.conns = append(h.conns, c)
		h.mu.Unlock()
		h.opened.Add(1)
		t := e.now()
		w.done(t)
		e.resolved(t)
	}
}

// sleepUntil sleeps to ns since base; false when the run or the hold was
// stopped first.
func (e *tlsEngine) sleepUntil(ns int64, over <-chan struct{}) bool {
	for {
		if e.stop.Load() || e.drain.Load() {
			return false
		}
		d := ns - e.now()
		if d <= 0 {
			return true
		}
		t := time.NewTimer(time.Duration(min(d, int64(100*time.Millisecond))))
		select {
		case <-t.C:
		case <-over:
			t.Stop()
			return false
		}
	}
}

// pinger pings its share of the held connections (index p, p+P, ...)
// round robin until the hold ends: each round of ping length, connection
// j of its m due at the round's start + j×ping/m. A ping that meets a
// closed connection or fails counts a failure and loses that connection.
func (w *tlsWorker) pinger(p, of int) {
	runtime.LockOSThread() // its CPU is read from its thread's clock
	defer runtime.UnlockOSThread()
	e := w.e
	h := e.hold
	ping := int64(e.cfg.Ping)
	w.mark(e.now())
	defer func() {
		w.cpu = threadClock() - w.cpu0
		u, s := kernel.ThreadCPU()
		w.u, w.s = u-w.u0, s-w.s0
	}()
	for round := int64(1); ; round++ {
		start := round * ping
		h.mu.Lock()
		n := len(h.conns)
		h.mu.Unlock()
		m := 0
		if n > p {
			m = (n-p-1)/of + 1
		}
		if m == 0 {
			if !e.sleepUntil(start, h.over) || e.holdOver() {
				return
			}
			continue
		}
		for j := 0; j < m; j++ {
			due := start + int64(j)*ping/int64(m)
			if !e.sleepUntil(due, h.over) || e.holdOver() {
				return
			}
			i := p + j*of
			h.mu.Lock()
			c := h.conns[i]
			h.mu.Unlock()
			if c == nil {
				continue
			}
			w.conn = c
			w.cur.Store(c.f)
			tx := &w.tx
			*tx = tlsTx{meas: true}
			for k := range tx.ph {
				tx.ph[k] = -1
			}
			now := e.now()
			_, err := w.exchange(tx, now, now)
			c.f.SetDeadline(time.Time{})
			if err != nil {
				if e.holdOver() {
					// Cut by the hold's end: still held, neither a
					// success nor a failure.
					w.conn = nil
					w.cur.Store(nil)
					return
				}
				w.failHeld(err)
			}
			if w.conn == nil {
				// The server closed it (with its answer, or under the
				// ping): no longer held.
				h.mu.Lock()
				h.conns[i] = nil
				h.mu.Unlock()
				e.inflight.Add(-1)
			}
			w.conn = nil
			w.cur.Store(nil)
		}
	}
}

// failHeld counts a held connection lost under a ping, and closes it.
func (w *tlsWorker) failHeld(err error) {
	e := w.e
	class := tlsClassify(err)
	w.closeConn()
	e.mu.Lock()
	e.tot.fail[class]++
	e.iv.fail[class]++
	e.last = max(e.last, e.now())
	e.mu.Unlock()
}

// holdOver reports whether the hold's time is up.
func (e *tlsEngine) holdOver() bool {
	select {
	case <-e.hold.over:
		return true
	default:
	}
	end := e.hold.end.Load()
	return end > 0 && e.now() >= end
}

// holdPhase waits, once every attempt resolved (or the run was stopped),
// for the hold's end, then stops the pingers: those in a ping have it cut.
func (e *tlsEngine) holdPhase(pingers []*tlsWorker, quit <-chan struct{}) {
	h := e.hold
	if h.openLeft.Load() == 0 {
		// Every attempt resolved: the hold's clock starts when known
		// (at once, or when the other processes opened theirs).
		select {
		case <-h.known:
			if d := h.end.Load() - e.now(); d > 0 {
				t := time.NewTimer(time.Duration(d))
				select {
				case <-t.C:
				case <-quit:
					t.Stop()
				}
			}
		case <-quit:
		}
	} // else stopped while opening (drain or hard stop)
	h.finish()
	for _, w := range pingers {
		if f := w.cur.Load(); f != nil {
			f.SetDeadline(time.Now())
		}
	}
	e.mu.Lock()
	e.last = max(e.last, e.now())
	e.mu.Unlock()
}

// closeHeld closes every held connection and returns how many were still
// held: those the server did not close or reset meanwhile (TCP_INFO's
// state; nothing reads a held connection without --ping), the others
// counted as failures by class. It closes with a reset without
// close_notify (SO_LINGER 0 is on the socket), or with --close fin
// close_notify then a FIN, each write bounded.
func (e *tlsEngine) closeHeld() int64 {
	h := e.hold
	h.mu.Lock()
	conns := h.conns
	h.conns = nil
	h.mu.Unlock()
	var held int64
	lost := map[string]int64{}
	rst := e.cfg.Socket.Close == dialer.CloseRST
	for _, c := range conns {
		if c == nil {
			continue
		}
		if class := peerEnded(c.f); class != "" {
			lost[class]++
		} else {
			held++
		}
		if rst || c.tc == nil {
			c.f.Close()
		} else {
			c.f.SetWriteDeadline(time.Now().Add(time.Second))
			c.tc.Close()
		}
		e.inflight.Add(-1)
	}
	e.mu.Lock()
	for class, n := range lost {
		e.tot.fail[class] += n
	}
	e.mu.Unlock()
	return held
}

// peerEnded says how the server ended a held connection ("": it did not):
// a FIN (the socket in CLOSE_WAIT) or a reset (CLOSE).
func peerEnded(f *os.File) string {
	rc, err := f.SyscallConn()
	if err != nil {
		return ""
	}
	var state uint8
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		var info *unix.TCPInfo
		if info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); ierr == nil {
			state = info.State
		}
	}); err != nil || ierr != nil {
		return ""
	}
	switch state {
	case unix.BPF_TCP_ESTABLISHED:
		return ""
	case unix.BPF_TCP_CLOSE_WAIT:
		return dialer.FailEOF
	}
	return dialer.FailReset
}

// holdResult fills res's hold record.
func (e *tlsEngine) holdResult(res *Result, held int64) {
	h := e.hold
	res.Hold = &HoldStats{Asked: e.cfg.Requests, Opened: h.opened.Load(), Held: held, OpenTime: -1}
	if d := h.openDone.Load(); d > 0 {
		res.Hold.OpenTime = time.Duration(d - e.measureAt)
	}
}

package workloads

import (
	"sync/atomic"
	"time"

	"github.com/connbench/connbench/dialer"
)

// holdMode is the hold workload per connection: open it once on the
// open-loop schedule (-n connections in all), keep it open until the hold
// ends, with --ping send it the request every Ping, and never reopen it: an
// attempt that failed or a held connection lost is counted and its slot
// stays unused. The hold's clock starts when the last attempt resolved.
var holdMode = mode{
	setup:     holdSetup,
	until:     holdUntil,
	connected: (*loop).holdConnected,
	finish:    (*loop).holdFinish,
	failed:    (*loop).holdFailed,
	collect:   holdCollect,
}

// holdState is what the loops of a hold share.
type holdState struct {
	openLeft atomic.Int64 // connection attempts not yet resolved
	openDone atomic.Int64 // ns since base when the last one resolved; 0: not yet
	end      atomic.Int64 // ns since base when the hold ends; 0: not yet known
}

// holdSetup makes -n the number of connections to open (the length of the
// schedule) rather than a quota of transactions; each is opened on a free
// slot, none is taken from a ready list.
func holdSetup(e *engine) {
	e.useQuota, e.readyList = false, false
	e.sched.n = e.cfg.Requests
	e.hold.openLeft.Store(e.cfg.Requests)
}

// holdUntil is the hold's end: Duration after the last connection attempt
// resolved; 0 until then.
func holdUntil(e *engine) int64 { return e.hold.end.Load() }

// holdConnected holds a connection just opened, and arms its first ping.
func (l *loop) holdConnected(s int32, t int64) {
	c := &l.conns[s]
	l.held++
	l.opened()
	c.state = stHeld
	if p := l.e.cfg.Ping; p > 0 {
		l.arm(s, tlPing, t+int64(p))
	}
}

// holdFinish completes a ping answered at t: back to holding until the
// next one.
func (l *loop) holdFinish(s int32, t int64) {
	c := &l.conns[s]
	if c.fd < 0 {
		// The server closed the connection with its answer.
		l.held--
		c.busy = false
		l.inflight--
		return
	}
	if c.meas {
		l.record(phTransaction, t-c.tTx)
		l.transactions++
		l.iv.tx++
	}
	c.state = stHeld
	l.arm(s, tlPing, t+int64(l.e.cfg.Ping))
}

// holdFailed counts a hold connection's failure: while opening, a
// connection attempt that failed (it is not retried: hold counts what it
// could open); later, a held connection lost. The slot stays unused.
func (l *loop) holdFailed(s int32, err error) {
	c := &l.conns[s]
	class := classify(err)
	l.fail[class]++
	l.iv.fail[class]++
	if class == dialer.FailAddrNotAvail && l.firstNotAvail < 0 {
		l.firstNotAvail = l.e.now()
	}
	if c.state == stHeld || c.state == stWriting || c.state == stReading {
		l.held-- // a held connection lost
	} else {
		l.opened() // an attempt that failed
	}
	if c.busy {
		c.busy = false
		l.inflight--
	}
	if c.fd >= 0 {
		l.closeFD(s)
	}
}

// opened resolves one hold connection attempt; the last one starts the
// hold's clock.
func (l *loop) opened() {
	e := l.e
	if e.hold.openLeft.Add(-1) == 0 {
		now := e.now()
		e.hold.openDone.Store(now)
		if release := e.cfg.HoldRelease; release != nil {
			go func() {
				release()
				e.hold.end.Store(e.now() + int64(e.cfg.Duration))
				e.wakeAll()
			}()
			return
		}
		e.hold.end.Store(now + int64(e.cfg.Duration))
		e.wakeAll()
	}
}

// ping sends a held connection's periodic request.
func (l *loop) ping(s int32) {
	c := &l.conns[s]
	c.tTx = l.e.now()
	l.send(s)
}

// holdCollect adds loop l's hold figures to res: connections opened, and
// those still open when the hold ended.
func holdCollect(e *engine, l *loop, res *Result) {
	if res.Hold == nil {
		res.Hold = &HoldStats{Asked: e.sched.n, OpenTime: -1}
		if d := e.hold.openDone.Load(); d > 0 {
			res.Hold.OpenTime = time.Duration(d - e.measureAt)
		}
	}
	res.Hold.Opened += l.connections
	res.Hold.Held += l.held
}

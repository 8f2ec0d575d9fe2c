package workloads

import "github.com/connbench/connbench/dialer"

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
	if e.openLeft.Add(-1) == 0 {
		now := e.now()
		e.openDone.Store(now)
		e.holdEnd.Store(now + int64(e.cfg.Duration))
		e.wakeAll()
	}
}

// ping sends a held connection's periodic request.
func (l *loop) ping(s int32) {
	c := &l.conns[s]
	c.tTx = l.e.now()
	l.send(s)
}

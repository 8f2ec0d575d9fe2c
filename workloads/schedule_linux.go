package workloads

import (
	"math"

	"github.com/connbench/connbench/segment"
)

// schedule is the open-loop arrival schedule: transaction k (counted over
// all loops) is due at at(k) ns after the base. With a segment, k counts
// the segment's own arrivals: its k-th is the whole schedule's arrival
// seg.Index(k), so the segments' schedules interleave into the whole one.
type schedule struct {
	seg       segment.Segment
	whole     bool    // no segment: k is the whole schedule's index
	a, b      float64 // rate at the start and end of the measured part, per ns
	warmup    float64 // ns
	warmupOps float64
	dur       float64 // ns of the measured part (for ramps)
	n         int64   // transactions in the schedule, over all loops; math.MaxInt64: no end of its own
	delay     float64 // ns before the first (Config.StartDelay)
}

func newSchedule(c *Config) schedule {
	s := schedule{a: c.Rate / 1e9, b: c.Rate / 1e9, warmup: float64(c.Warmup), dur: float64(c.Duration),
		n: math.MaxInt64, seg: c.Segment, whole: c.Segment.IsWhole(), delay: float64(c.StartDelay)}
	if c.RateEnd > 0 {
		s.b = c.RateEnd / 1e9
	}
	if !s.whole {
		// Rate and RateEnd are this segment's share: the schedule is
		// the whole run's.
		f := c.Segment.Fraction()
		s.a, s.b = s.a/f, s.b/f
		if c.WholeRate > 0 {
			s.a, s.b = c.WholeRate/1e9, c.WholeRate/1e9
			if c.WholeRateEnd > 0 {
				s.b = c.WholeRateEnd / 1e9
			}
		}
	}
	s.warmupOps = s.a * s.warmup
	return s
}

func (s *schedule) at(k int64) int64 {
	kf := float64(k)
	if !s.whole {
		kf = s.seg.Index(k)
	}
	if kf < s.warmupOps {
		return int64(s.delay + kf/s.a)
	}
	kk := kf - s.warmupOps
	// Measured part: rate(t) = a + (b-a) t/dur, so the number due by t is
	// a t + c t^2 with c = (b-a)/(2 dur); solve for t.
	c := 0.0
	if s.dur > 0 {
		c = (s.b - s.a) / (2 * s.dur)
	}
	var t float64
	if math.Abs(c) < 1e-30 {
		t = kk / s.a
	} else {
		disc := s.a*s.a + 4*c*kk
		if disc < 0 {
			return math.MaxInt64 // a ramp down never reaches k
		}
		t = (-s.a + math.Sqrt(disc)) / (2 * c)
	}
	if t > 9e18 || math.IsNaN(t) || math.IsInf(t, 0) {
		return math.MaxInt64
	}
	return int64(s.delay + s.warmup + t)
}

// claim takes the right to start one more transaction on slot s, at now,
// due at t (t = now in a closed loop), and decides once whether it is
// recorded (due after the warm-up), so that the quota and the records
// always agree.
func (l *loop) claim(s int32, now, t int64) bool {
	e := l.e
	if e.stop.Load() || e.drain.Load() || (e.endAt > 0 && now >= e.endAt) {
		return false
	}
	meas := t >= e.measureAt
	if e.useQuota && meas && e.quota.Add(-1) < 0 {
		return false
	}
	c := &l.conns[s]
	c.meas, c.busy = meas, true
	c.tIntended = t
	l.inflight++
	return true
}

// canStart reports whether a due transaction would find a slot.
func (l *loop) canStart() bool {
	if l.e.readyList {
		return len(l.ready) > 0
	}
	return len(l.free) > 0
}

// schedule starts the open-loop transactions that are due.
func (l *loop) schedule(now int64) {
	e := l.e
	if l.nextK >= e.sched.n {
		l.schedDone = true
	}
	for !l.schedDone && l.nextAt <= now && l.canStart() {
		var s int32
		if e.readyList {
			s = l.ready[len(l.ready)-1]
			l.ready = l.ready[:len(l.ready)-1]
			if c := &l.conns[s]; e.maxAge > 0 && now-c.tConn >= e.maxAge {
				// Aged while idle in the pool: replace it (its
				// handshake starts now) and take the next one for
				// this transaction.
				l.closeFD(s)
				if now >= e.measureAt {
					l.recycled++
				}
				l.connectPool(s)
				continue
			}
		} else {
			s = l.free[len(l.free)-1]
			l.free = l.free[:len(l.free)-1]
		}
		if !l.claim(s, now, l.nextAt) {
			if e.readyList {
				l.ready = append(l.ready, s)
			} else {
				l.free = append(l.free, s)
			}
			l.schedDone = true
			return
		}
		if l.conns[s].meas {
			l.record(phStartLag, now-l.nextAt)
		}
		l.nextK += int64(e.loops)
		l.nextAt = e.sched.at(l.nextK)
		if l.nextK >= e.sched.n {
			l.schedDone = true
		}
		if e.readyList {
			c := &l.conns[s]
			c.tTx = e.now()
			l.send(s)
		} else {
			l.dial(s)
			if l.clk >= l.passEnd {
				// connect() is slow (the port search): the due
				// timers and the completed handshakes come first;
				// the loop polls and comes back at once.
				return
			}
		}
	}
	if !e.readyList && !l.schedDone && l.nextAt <= now && !l.canStart() {
		// Due, but --max-inflight transactions are in flight: the limit
		// holds back this start and every later one due by now. Each is
		// counted once (heldK: the next not yet counted), whether it
		// starts later or never.
		k := max(l.nextK, l.heldK)
		for at := e.sched.at(k); at <= now && k < e.sched.n; at = e.sched.at(k) {
			if at >= e.measureAt {
				l.heldByInflight++
			}
			k += int64(e.loops)
		}
		l.heldK = k
	}
}

// start claims a transaction and opens a new connection for it (closed loop).
func (l *loop) start(s int32) {
	now := l.e.now()
	if !l.claim(s, now, now) {
		return
	}
	l.dial(s)
}

// connectPool opens a pool connection for an open-loop pooled run; it
// carries no transaction until the schedule gives it one.
func (l *loop) connectPool(s int32) {
	now := l.e.now()
	if l.e.stop.Load() || l.e.drain.Load() || (l.e.endAt > 0 && now >= l.e.endAt) {
		return
	}
	l.conns[s].meas = now >= l.e.measureAt
	l.dial(s)
}

func (l *loop) unready(s int32) {
	for i, r := range l.ready {
		if r == s {
			l.ready[i] = l.ready[len(l.ready)-1]
			l.ready = l.ready[:len(l.ready)-1]
			return
		}
	}
}

package workloads

import "github.com/connbench/connbench/dialer"

// Timer lists a connection can be on.
const (
	tlNone uint8 = iota
	tlConnect
	tlResponse
	tlPing // the next request of a held connection (stHeld)
)

type tlist struct{ head, tail int32 }

// Timers: every timeout of one kind has the same length, so deadlines are
// appended in order and each list is a FIFO; removal is O(1).

func (l *loop) arm(s int32, list uint8, due int64) {
	c := &l.conns[s]
	c.timer, c.due = list, due
	li := &l.lists[list]
	c.prev, c.next = li.tail, -1
	if li.tail >= 0 {
		l.conns[li.tail].next = s
	} else {
		li.head = s
	}
	li.tail = s
}

func (l *loop) disarm(s int32) {
	c := &l.conns[s]
	if c.timer == tlNone {
		return
	}
	li := &l.lists[c.timer]
	if c.prev >= 0 {
		l.conns[c.prev].next = c.next
	} else {
		li.head = c.next
	}
	if c.next >= 0 {
		l.conns[c.next].prev = c.prev
	} else {
		li.tail = c.prev
	}
	c.prev, c.next, c.timer = -1, -1, tlNone
}

func (l *loop) nextDue() int64 {
	due := int64(-1)
	for _, li := range l.lists[1:] {
		if li.head >= 0 {
			if d := l.conns[li.head].due; due < 0 || d < due {
				due = d
			}
		}
	}
	return due
}

func (l *loop) expire(now int64) {
	pl := &l.lists[tlPing]
	for pl.head >= 0 && l.conns[pl.head].due <= now {
		s := pl.head
		l.late(now, l.conns[s].due)
		l.disarm(s)
		l.ping(s)
	}
	for _, kind := range [2]uint8{tlConnect, tlResponse} {
		li := &l.lists[kind]
		for li.head >= 0 && l.conns[li.head].due <= now {
			class := timeoutConnect
			if kind == tlResponse {
				class = timeoutResponse
			}
			l.late(now, l.conns[li.head].due)
			l.failed(li.head, class)
		}
	}
}

// late records how late a timer due at due fired at now, in the measured
// part.
func (l *loop) late(now, due int64) {
	if now >= l.e.measureAt && now-due > l.lateMax {
		l.lateMax = now - due
	}
}

var (
	timeoutConnect  error = &dialer.TimeoutError{Phase: dialer.FailConnectTimeout}
	timeoutResponse error = &dialer.TimeoutError{Phase: dialer.FailResponseTimeout}
)

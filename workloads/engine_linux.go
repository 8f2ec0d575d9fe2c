package workloads

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/internal/sock"
	"github.com/connbench/connbench/kernel"
	"golang.org/x/sys/unix"
)

// Connection states.
const (
	stIdle uint8 = iota
	stConnecting
	stWriting
	stReading
	stHeld // persistent connection parked at the end of the run
)

// Timer lists a connection can be on.
const (
	tlNone uint8 = iota
	tlConnect
	tlResponse
)

// Registration for every client socket: edge-triggered, so one epoll_ctl per
// connection covers connect completion, writability and readability.
const clientEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

type conn struct {
	fd     int32
	gen    int32
	state  uint8
	timer  uint8
	fresh  bool // the current transaction opened this connection
	meas   bool // the current transaction is recorded (claimed after the warm-up)
	wrOff  int32
	rdGot  int32
	tConn  int64 // connect() call, ns since the engine's base
	tTx    int64 // transaction start
	tSent  int64 // request fully written
	tFirst int64 // first response byte
	due    int64 // timer deadline
	prev   int32 // timer list links (slot indices, -1 = none)
	next   int32
}

type tlist struct{ head, tail int32 }

// engine is what all loops of one run share, read-only once running.
type engine struct {
	cfg       Config
	spec      Workload
	dial      *dialer.Dialer
	base      time.Time
	measureAt int64 // ns since base: end of warm-up
	endAt     int64 // ns since base: end of run; 0 = none (Requests mode)
	quota     atomic.Int64
	useQuota  bool
	stop      atomic.Bool
	srcNext   atomic.Uint64
	loops     int
}

func (e *engine) now() int64 { return int64(time.Since(e.base)) }

type loop struct {
	e       *engine
	id      int
	p       *sock.Poller
	conns   []conn
	pending []int32
	spare   []int32
	lists   [3]tlist
	active  int
	buf     []byte
	rec     [4]*histogram.Recorder
	fail    map[string]int64
	lastEnd int64
	// measured counters
	connections, transactions, bytesOut, bytesIn int64
	cpuU0, cpuS0, cpuU, cpuS                     time.Duration
	cpuMarked                                    bool
	err                                          error
}

// Run runs cfg's workload until its duration or request count is reached or
// ctx is cancelled (then Result.Partial is set). It returns an error only
// when the run could not start (bad configuration, no epoll); failures of
// individual connections are counted in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	d, err := dialer.New(cfg.Target, cfg.Socket)
	if err != nil {
		return nil, fmt.Errorf("workloads: %w", err)
	}
	e := &engine{cfg: cfg, spec: Registry[cfg.Workload], dial: d, loops: cfg.Loops}
	if cfg.Requests > 0 {
		e.useQuota = true
		e.quota.Store(cfg.Requests)
	}
	loops := make([]*loop, cfg.Loops)
	for i := range loops {
		p, err := sock.NewPoller(512)
		if err != nil {
			for _, l := range loops[:i] {
				l.p.Close()
			}
			return nil, fmt.Errorf("workloads: %w", err)
		}
		n := cfg.Concurrency / cfg.Loops
		if i < cfg.Concurrency%cfg.Loops {
			n++
		}
		l := &loop{e: e, id: i, p: p, conns: make([]conn, n), buf: make([]byte, 64<<10), fail: map[string]int64{}}
		for j := range l.rec {
			l.rec[j] = histogram.New()
		}
		for j := range l.conns {
			l.conns[j] = conn{fd: -1, prev: -1, next: -1}
			l.pending = append(l.pending, int32(j))
		}
		for j := range l.lists {
			l.lists[j] = tlist{-1, -1}
		}
		loops[i] = l
	}
	e.base = time.Now()
	e.measureAt = int64(cfg.Warmup)
	if cfg.Duration > 0 {
		e.endAt = e.measureAt + int64(cfg.Duration)
	}
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	partial := false
	select {
	case <-done:
	case <-ctx.Done():
		partial = true
		e.stop.Store(true)
		for _, l := range loops {
			l.p.Wake()
		}
		<-done
	}
	res := &Result{
		Config:   cfg,
		Start:    e.base.Add(time.Duration(e.measureAt)),
		Partial:  partial,
		Failures: map[string]int64{},
		Phases:   map[string]*histogram.Recorder{},
	}
	var last int64
	for _, l := range loops {
		l.p.Close()
		if l.err != nil && err == nil {
			err = l.err
		}
		res.Connections += l.connections
		res.Transactions += l.transactions
		res.BytesSent += l.bytesOut
		res.BytesReceived += l.bytesIn
		res.CPUUser += l.cpuU
		res.CPUSys += l.cpuS
		for k, v := range l.fail {
			res.Failures[k] += v
		}
		for j, name := range Phases {
			if r, ok := res.Phases[name]; ok {
				r.Merge(l.rec[j])
			} else {
				res.Phases[name] = l.rec[j]
			}
		}
		last = max(last, l.lastEnd)
	}
	if !e.spec.Exchange {
		delete(res.Phases, PhaseFirstByte)
		delete(res.Phases, PhaseResponse)
	}
	res.Elapsed = time.Duration(max(last-e.measureAt, 0))
	if err != nil {
		return res, fmt.Errorf("workloads: %w", err)
	}
	return res, nil
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	e := l.e
	for {
		now := e.now()
		if !l.cpuMarked && now >= e.measureAt {
			l.cpuMarked = true
			l.cpuU0, l.cpuS0 = kernel.ThreadCPU()
		}
		if e.stop.Load() || (e.endAt > 0 && now >= e.endAt) {
			break
		}
		if len(l.pending) > 0 {
			// Swap, because start may queue a slot again on failure;
			// that one waits for the next round (and its time check).
			work := l.pending
			l.pending, l.spare = l.spare[:0], work
			for _, s := range work {
				l.start(s)
			}
			continue
		}
		if l.active == 0 {
			break // Requests mode: nothing left to start or finish
		}
		wait := time.Duration(-1)
		if d := l.nextDue(); d >= 0 {
			wait = time.Duration(max(d-now, 0))
		}
		if !l.cpuMarked {
			wait = minWait(wait, time.Duration(e.measureAt-now))
		}
		if e.endAt > 0 {
			wait = minWait(wait, time.Duration(e.endAt-now))
		}
		evs, _, err := l.p.Wait(wait)
		if err != nil {
			l.err = err
			break
		}
		for i := range evs {
			l.event(evs[i].Fd, evs[i].Pad, evs[i].Events)
		}
		l.expire(e.now())
	}
	end := e.now()
	if e.endAt > 0 && end > e.endAt {
		end = e.endAt
	}
	if e.stop.Load() || e.endAt > 0 {
		l.lastEnd = end
	}
	if l.cpuMarked {
		u, s := kernel.ThreadCPU()
		l.cpuU, l.cpuS = u-l.cpuU0, s-l.cpuS0
	}
	// Abandon what is in flight: it is neither a success nor a failure.
	for i := range l.conns {
		if l.conns[i].fd >= 0 {
			l.closeFD(int32(i))
		}
	}
}

func minWait(a, b time.Duration) time.Duration {
	if b < 0 {
		b = 0
	}
	if a < 0 || b < a {
		return b
	}
	return a
}

// claim takes the right to start one more transaction on slot s at now,
// and decides once whether it is recorded (started after the warm-up), so
// that the quota and the records always agree.
func (l *loop) claim(s int32, now int64) bool {
	e := l.e
	if e.stop.Load() || (e.endAt > 0 && now >= e.endAt) {
		return false
	}
	meas := now >= e.measureAt
	if e.useQuota && meas && e.quota.Add(-1) < 0 {
		return false
	}
	l.conns[s].meas = meas
	return true
}

// start opens a new connection on slot s and begins its first transaction.
func (l *loop) start(s int32) {
	c := &l.conns[s]
	now := l.e.now()
	if !l.claim(s, now) {
		return
	}
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
	c.fresh = true
	c.tConn = l.e.now()
	c.tTx = c.tConn
	l.active++
	err = l.e.dial.Connect(fd)
	if err != nil && err != unix.EINPROGRESS {
		l.failed(s, err)
		return
	}
	if perr := l.p.Add(fd, clientEvents, s, c.gen); perr != nil {
		l.failed(s, perr)
		return
	}
	if err == nil {
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
		// The server closed a parked connection; nothing is measured now.
	}
}

// connected finishes a handshake that completed at t.
func (l *loop) connected(s int32, t int64) {
	c := &l.conns[s]
	if c.meas {
		l.rec[0].Record(t - c.tConn)
		l.connections++
	}
	if !l.e.spec.Exchange {
		if c.meas {
			l.rec[3].Record(t - c.tTx)
			l.transactions++
			l.lastEnd = t
		}
		l.closeFD(s)
		l.start(s)
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
		n, err := sock.Write(int(c.fd), req[c.wrOff:])
		if err != nil {
			if err == unix.EAGAIN {
				return // edge-triggered EPOLLOUT brings us back
			}
			l.failed(s, err)
			return
		}
		c.wrOff += int32(n)
	}
	c.tSent = l.e.now()
	if c.meas {
		l.bytesOut += int64(len(req))
	}
	c.state = stReading
	if to := l.e.cfg.Timeouts.Response; to > 0 {
		l.arm(s, tlResponse, c.tSent+int64(to))
	}
	// No read attempt here: the response cannot be there yet, and a read
	// that fails with EAGAIN is a syscall spent on nothing. The edge on
	// EPOLLIN brings us back when the first byte arrives.
}

func (l *loop) read(s int32) {
	c := &l.conns[s]
	want := int32(l.e.cfg.ResponseSize)
	for c.rdGot < want {
		// Read no more than the response: the rest of the stream, if any,
		// belongs to the next transaction.
		n, err := sock.Read(int(c.fd), l.buf[:min(int(want-c.rdGot), len(l.buf))])
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
		if c.rdGot == 0 {
			c.tFirst = l.e.now()
		}
		c.rdGot += int32(n)
	}
	l.complete(s, l.e.now())
}

func (l *loop) complete(s int32, t int64) {
	c := &l.conns[s]
	l.disarm(s)
	if c.meas {
		l.rec[1].Record(c.tFirst - c.tSent)
		l.rec[2].Record(t - c.tSent)
		l.rec[3].Record(t - c.tTx)
		l.transactions++
		l.bytesIn += int64(c.rdGot)
		l.lastEnd = t
	}
	if !l.e.spec.Persistent {
		l.closeFD(s)
		l.start(s)
		return
	}
	if !l.claim(s, t) {
		c.state = stHeld
		l.active--
		return
	}
	c.fresh = false
	c.tTx = l.e.now()
	l.send(s)
}

// failed counts err against the slot's transaction, closes the connection
// and queues the slot for a new one.
func (l *loop) failed(s int32, err error) {
	if l.conns[s].meas {
		l.fail[dialer.Classify(err)]++
		l.lastEnd = l.e.now()
	}
	if l.conns[s].fd >= 0 {
		l.closeFD(s)
	}
	l.pending = append(l.pending, s)
}

func (l *loop) closeFD(s int32) {
	c := &l.conns[s]
	l.disarm(s)
	if c.state != stHeld {
		l.active--
	}
	sock.Close(int(c.fd))
	c.fd = -1
	c.state = stIdle
}

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
	for _, kind := range [2]uint8{tlConnect, tlResponse} {
		li := &l.lists[kind]
		for li.head >= 0 && l.conns[li.head].due <= now {
			s := li.head
			class := timeoutConnect
			if kind == tlResponse {
				class = timeoutResponse
			}
			l.failed(s, class)
		}
	}
}

var (
	timeoutConnect  error = &dialer.TimeoutError{Phase: dialer.FailConnectTimeout}
	timeoutResponse error = &dialer.TimeoutError{Phase: dialer.FailResponseTimeout}
)

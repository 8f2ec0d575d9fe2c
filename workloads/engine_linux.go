package workloads

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/internal/sock"
	"github.com/connbench/connbench/kernel"
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
	stHeld                    // persistent connection parked at the end of the run
)

// Timer lists a connection can be on.
const (
	tlNone uint8 = iota
	tlConnect
	tlResponse
	tlPing // hold: the next ping of a held connection
)

// Phase indices into a loop's recorders, in Phases order.
const (
	phHandshake = iota
	phFirstByte
	phResponse
	phTransaction
	phScheduled
	phStartLag
	phConnFirst
	phFOCold
	phFOWarm
	nPhases
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
	wrOff     int32
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

type tlist struct{ head, tail int32 }

// engine is what all loops of one run share; read-only once running but
// for the atomics.
type engine struct {
	cfg        Config
	exchange   bool
	persistent bool
	open       bool
	dial       *dialer.Dialer
	base       time.Time
	measureAt  int64 // ns since base: end of warm-up
	endAt      int64 // ns since base: end of run; 0 = none (Requests mode)
	quota      atomic.Int64
	useQuota   bool
	stop       atomic.Bool // stop now: abandon what is in flight
	drain      atomic.Bool // start nothing new; finish what is in flight
	srcNext    atomic.Uint64
	band       atomic.Int32 // port-occupancy band for connect() timings
	loops      int
	sched      schedule
	reports    chan report
	pool       chan *histogram.Recorder
	trailing   error // a protocol's response followed by bytes nobody asked for
	fastopen   dialer.FastOpenMode
	tcpinfo    bool // read TCP_INFO after each measured handshake
	// hold workload
	hold bool
	// readyList: an open-loop pooled run, whose due transactions take a
	// connected slot from the ready list; other open-loop runs (hold
	// included) take a free slot and open a connection.
	readyList bool
	holdN     int64        // connections to open
	openLeft  atomic.Int64 // connection attempts not yet resolved
	openDone  atomic.Int64 // ns since base when the last one resolved; 0: not yet
	holdEnd   atomic.Int64 // ns since base when the hold ends; 0: not yet known
	wakeAll   func()
}

func (e *engine) now() int64 { return int64(time.Since(e.base)) }

// schedule is the open-loop arrival schedule: transaction k (counted over
// all loops) is due at at(k) ns after the base.
type schedule struct {
	a, b      float64 // rate at the start and end of the measured part, per ns
	warmup    float64 // ns
	warmupOps float64
	dur       float64 // ns of the measured part (for ramps)
}

func newSchedule(c *Config) schedule {
	s := schedule{a: c.Rate / 1e9, b: c.Rate / 1e9, warmup: float64(c.Warmup), dur: float64(c.Duration)}
	if c.RateEnd > 0 {
		s.b = c.RateEnd / 1e9
	}
	s.warmupOps = s.a * s.warmup
	return s
}

func (s *schedule) at(k int64) int64 {
	kf := float64(k)
	if kf < s.warmupOps {
		return int64(kf / s.a)
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
	return int64(s.warmup + t)
}

type intervalAcc struct {
	tx, conns, out, in int64
	fail               map[string]int64
	rec                [nPhases]*histogram.Recorder
}

type report struct {
	loop, idx int
	acc       intervalAcc
	inflight  int
	final     bool
}

type loop struct {
	e        *engine
	id       int
	p        *sock.Poller
	conns    []conn
	pending  []int32 // closed loop: slots to (re)start; open pool: slots to reconnect
	spare    []int32
	free     []int32 // open loop: slots without a connection
	ready    []int32 // open-loop pool: connections waiting for a transaction
	lists    [4]tlist
	inflight int
	buf      []byte
	framers  []protocol.Framer // per slot, with a Config.Protocol; nil: raw
	status   [protocol.NumStatus]int64
	rec      [nPhases]*histogram.Recorder
	cc       [4]*histogram.Recorder
	fail     map[string]int64
	lastEnd  int64
	// measured totals
	connections, transactions, bytesOut, bytesIn int64
	firstNotAvail                                int64
	// open loop
	nextK     int64
	nextAt    int64
	schedDone bool
	behind    int64
	// time series
	tickIdx  int
	nextTick int64
	iv       intervalAcc
	// CPU
	cpuU0, cpuS0, cpuU, cpuS time.Duration
	cpuMarked                bool
	err                      error
	held                     int64 // hold: connections open now
	heldEnd                  int64 // hold: connections open when the hold ended
	// TCP_INFO
	tinfo unix.TCPInfo
	ti    TCPInfoStats
}

// Run runs cfg's workload until its duration or request count is reached,
// ctx is cancelled (then Result.Partial is set), or with UntilExhausted the
// ports run out. It returns an error only when the run could not start (bad
// configuration, no epoll); failures of individual connections are counted
// in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	d, err := dialer.New(cfg.Target, cfg.Socket)
	if err != nil {
		return nil, fmt.Errorf("workloads: %w", err)
	}
	spec := Registry[cfg.Workload]
	e := &engine{cfg: cfg, exchange: cfg.exchange(), persistent: spec.Persistent, open: cfg.open(),
		dial: d, loops: cfg.Loops, sched: newSchedule(&cfg), fastopen: cfg.Socket.FastOpen,
		tcpinfo: cfg.TCPInfo || cfg.Socket.FastOpen != dialer.FastOpenOff}
	if cfg.Protocol != nil {
		e.trailing = &protocol.Error{Protocol: cfg.Protocol.Name(), Reason: "bytes after the complete response"}
	}
	if cfg.Workload == "hold" {
		e.hold, e.holdN = true, cfg.Requests
		e.openLeft.Store(cfg.Requests)
	} else if cfg.Requests > 0 {
		e.useQuota = true
		e.quota.Store(cfg.Requests)
	}
	e.readyList = e.open && e.persistent && !e.hold
	e.reports = make(chan report, cfg.Loops*16)
	e.pool = make(chan *histogram.Recorder, cfg.Loops*nPhases*4)
	slots := cfg.Concurrency // hold: -n
	if e.open && !e.persistent {
		slots = cfg.MaxInflight
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
		n := slots / cfg.Loops
		if i < slots%cfg.Loops {
			n++
		}
		loops[i] = newLoop(e, i, p, n)
	}
	spawn := cfg.Spawn
	if spawn == nil {
		spawn = func(f func()) error { go f(); return nil }
	}
	co := newCoordinator(e, loops)
	e.wakeAll = func() {
		for _, l := range loops {
			l.p.Wake()
		}
	}
	e.base = time.Now()
	e.measureAt = int64(cfg.Warmup)
	if cfg.Duration > 0 && !e.hold {
		e.endAt = e.measureAt + int64(cfg.Duration)
	}
	// The coordinator takes its "before" readings on its own thread (in
	// the client's namespace when spawned there), before any loop starts.
	if cfg.OnReady != nil {
		cfg.OnReady()
	}
	began, coDone := make(chan struct{}), make(chan struct{})
	if err := spawn(func() { co.begin(); close(began); co.run(); close(coDone) }); err != nil {
		for _, l := range loops {
			l.p.Close()
		}
		return nil, fmt.Errorf("workloads: start: %w", err)
	}
	<-began
	if cfg.OnMeasure != nil && cfg.Warmup == 0 {
		cfg.OnMeasure()
	}
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		if err := spawn(func() {
			defer wg.Done()
			l.run()
		}); err != nil {
			// Nothing can be measured right: stop the loops that did start.
			l.err = err
			e.stop.Store(true)
			wg.Done()
			l.tick(true)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(e.reports); <-coDone; close(done) }()
	partial := false
	wake := func() {
		for _, l := range loops {
			l.p.Wake()
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		partial = true
		e.drain.Store(true)
		wake()
		select {
		case <-done:
		case <-cfg.HardStop:
			e.stop.Store(true)
			wake()
			<-done
		}
	case <-cfg.HardStop:
		partial = true
		e.stop.Store(true)
		wake()
		<-done
	}
	res := &Result{
		Config:            cfg,
		Start:             e.base.Add(time.Duration(e.measureAt)),
		Partial:           partial && !co.exhausted,
		Failures:          map[string]int64{},
		Phases:            map[string]*histogram.Recorder{},
		Series:            co.series,
		Kernel:            co.kernelStats(),
		Exhausted:         co.exhausted,
		FirstAddrNotAvail: -1,
	}
	var last int64
	for li, l := range loops {
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
		res.Behind += l.behind
		if e.hold {
			if res.Hold == nil {
				res.Hold = &HoldStats{Asked: e.holdN, OpenTime: -1}
				if d := e.openDone.Load(); d > 0 {
					res.Hold.OpenTime = time.Duration(d - e.measureAt)
				}
			}
			res.Hold.Opened += l.connections
			res.Hold.Held += l.heldEnd
		}
		if e.tcpinfo {
			if res.TCPInfo == nil {
				res.TCPInfo = &TCPInfoStats{}
			}
			t := res.TCPInfo
			t.Handshakes += l.ti.Handshakes
			t.Retransmitted += l.ti.Retransmitted
			t.RTOs += l.ti.RTOs
			t.HasRTO = t.HasRTO || l.ti.HasRTO
			t.FastOpen += l.ti.FastOpen
			t.SYNData += l.ti.SYNData
		}
		for k, v := range l.fail {
			res.Failures[k] += v
		}
		if l.framers != nil {
			if res.Statuses == nil {
				res.Statuses = map[string]int64{}
			}
			for st, v := range l.status {
				if v > 0 {
					res.Statuses[protocol.Status(st).String()] += v
				}
			}
		}
		for j, name := range Phases {
			switch {
			case l.rec[j] == nil:
			case li == 0:
				res.Phases[name] = l.rec[j]
			default:
				res.Phases[name].Merge(l.rec[j])
			}
		}
		switch {
		case l.cc[0] == nil:
		case li == 0:
			res.ConnectCall = l.cc[:]
		default:
			for b := range l.cc {
				res.ConnectCall[b].Merge(l.cc[b])
			}
		}
		if l.firstNotAvail >= 0 && (res.FirstAddrNotAvail < 0 || time.Duration(l.firstNotAvail-e.measureAt) < res.FirstAddrNotAvail) {
			res.FirstAddrNotAvail = time.Duration(l.firstNotAvail - e.measureAt)
		}
		last = max(last, l.lastEnd)
	}
	for j, name := range Phases {
		if !e.keepPhase(j) {
			delete(res.Phases, name)
		}
	}
	res.Elapsed = time.Duration(max(last-e.measureAt, 0))
	if err != nil {
		return res, fmt.Errorf("workloads: %w", err)
	}
	return res, nil
}

func newLoop(e *engine, id int, p *sock.Poller, slots int) *loop {
	l := &loop{e: e, id: id, p: p, conns: make([]conn, slots), buf: make([]byte, 64<<10),
		fail: map[string]int64{}, firstNotAvail: -1, nextK: int64(id)}
	// Recorders (about 270 KiB each) only for what the run records: a
	// hold of many connections per process must not pay for the others.
	for j := range l.rec {
		if e.keepPhase(j) {
			l.rec[j] = histogram.New()
		}
	}
	if e.cfg.PortRange > 0 {
		for j := range l.cc {
			l.cc[j] = histogram.New()
		}
	}
	l.iv = l.newAcc()
	for j := range l.conns {
		l.conns[j] = conn{fd: -1, prev: -1, next: -1}
	}
	if e.cfg.Protocol != nil && e.exchange {
		// One framer per slot, made once: the hot path allocates nothing.
		l.framers = make([]protocol.Framer, slots)
		for j := range l.framers {
			l.framers[j] = e.cfg.Protocol.NewFramer()
		}
	}
	if e.open && !e.readyList {
		for j := len(l.conns) - 1; j >= 0; j-- {
			l.free = append(l.free, int32(j))
		}
	} else {
		for j := range l.conns {
			l.pending = append(l.pending, int32(j))
		}
	}
	for j := range l.lists {
		l.lists[j] = tlist{-1, -1}
	}
	return l
}

func (l *loop) newAcc() intervalAcc {
	a := intervalAcc{fail: map[string]int64{}}
	for j := range a.rec {
		if !l.e.keepPhase(j) {
			continue
		}
		select {
		case r := <-l.e.pool:
			a.rec[j] = r
		default:
			a.rec[j] = histogram.New()
		}
	}
	return a
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	e := l.e
	if e.open {
		l.nextAt = e.sched.at(l.nextK)
	}
	l.nextTick = int64(e.cfg.Interval)
	for {
		now := e.now()
		if !l.cpuMarked && now >= e.measureAt {
			l.cpuMarked = true
			if l.id == 0 && e.cfg.Warmup > 0 && e.cfg.OnMeasure != nil {
				// Loop 0 wakes at the boundary itself (its wait aims at
				// it to the nanosecond): the caller's snapshot lands
				// there, not a timer's late firing after it.
				e.cfg.OnMeasure()
			}
			l.cpuU0, l.cpuS0 = kernel.ThreadCPU()
		}
		for now >= l.nextTick {
			l.tick(false)
		}
		if e.stop.Load() || (e.endAt > 0 && now >= e.endAt) {
			break
		}
		if e.hold {
			if he := e.holdEnd.Load(); (he > 0 && now >= he) || e.drain.Load() {
				break // Ctrl-C ends a hold at once: nothing is in flight that must finish
			}
		}
		if len(l.pending) > 0 {
			// Swap, because a start may queue its slot again on failure;
			// that one waits for the next round (and its time check).
			work := l.pending
			l.pending, l.spare = l.spare[:0], work
			for _, s := range work {
				if e.open {
					l.connectPool(s)
				} else {
					l.start(s)
				}
			}
			continue
		}
		if e.open {
			if e.drain.Load() {
				l.schedDone = true
			}
			l.schedule(now)
		}
		if l.inflight == 0 && len(l.pending) == 0 && (!e.open || l.schedDone) {
			break // Requests mode: nothing left to start or finish
		}
		wait := minWait(-1, time.Duration(l.nextTick-now))
		if d := l.nextDue(); d >= 0 {
			wait = minWait(wait, time.Duration(d-now))
		}
		if !l.cpuMarked {
			wait = minWait(wait, time.Duration(e.measureAt-now))
		}
		if e.endAt > 0 {
			wait = minWait(wait, time.Duration(e.endAt-now))
		}
		if he := e.holdEnd.Load(); e.hold && he > 0 {
			wait = minWait(wait, time.Duration(he-now))
		}
		if e.open && !l.schedDone && l.canStart() {
			wait = minWait(wait, time.Duration(l.nextAt-now))
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
	if e.stop.Load() || e.endAt > 0 || e.hold {
		l.lastEnd = end
	}
	if e.open && !l.schedDone {
		// What was due and never started: the schedule could not be
		// kept (too few slots, a loop too slow or stalled). What fell
		// due in the last millisecond is not counted: the run ended
		// while the loop was on its way to it.
		for l.nextAt <= end-int64(time.Millisecond) && l.behind < 1<<40 {
			l.behind++
			l.nextK += int64(e.loops)
			l.nextAt = e.sched.at(l.nextK)
		}
	}
	if l.cpuMarked {
		u, s := kernel.ThreadCPU()
		l.cpuU, l.cpuS = u-l.cpuU0, s-l.cpuS0
	}
	l.heldEnd = l.held
	// Abandon what is in flight: it is neither a success nor a failure.
	for i := range l.conns {
		if l.conns[i].fd >= 0 {
			l.closeFD(int32(i))
		}
	}
	l.inflight = 0
	l.tick(true)
}

// tick hands the finished interval's figures to the coordinator.
func (l *loop) tick(final bool) {
	l.e.reports <- report{loop: l.id, idx: l.tickIdx, acc: l.iv, inflight: l.inflight, final: final}
	if final {
		return
	}
	l.iv = l.newAcc()
	l.tickIdx++
	l.nextTick += int64(l.e.cfg.Interval)
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

func (l *loop) record(ph int, v int64) {
	l.rec[ph].Record(v)
	l.iv.rec[ph].Record(v)
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
	if e.hold && l.nextK >= e.holdN {
		l.schedDone = true
	}
	for !l.schedDone && l.nextAt <= now && l.canStart() {
		var s int32
		if e.readyList {
			s = l.ready[len(l.ready)-1]
			l.ready = l.ready[:len(l.ready)-1]
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
		if e.hold {
			if l.nextK >= e.holdN {
				l.schedDone = true
			}
			l.dial(s)
			continue
		}
		if e.persistent {
			c := &l.conns[s]
			c.tTx = e.now()
			l.send(s)
		} else {
			l.dial(s)
		}
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

// dial opens a connection on slot s and starts its handshake.
func (l *loop) dial(s int32) {
	c := &l.conns[s]
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
	c.tConn = l.e.now()
	c.tTx = c.tConn
	c.wrOff, c.early = 0, false
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
	if c.meas && l.e.cfg.PortRange > 0 {
		l.cc[l.e.band.Load()].Record(l.e.now() - c.tConn)
	}
	if err != nil && err != unix.EINPROGRESS {
		l.failed(s, err)
		return
	}
	if perr := l.p.Add(fd, clientEvents, s, c.gen); perr != nil {
		l.failed(s, perr)
		return
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
	case stReady, stHeld:
		if l.e.hold && ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			// A held connection the server closed or reset.
			err := dialer.SocketError(int(c.fd))
			if err == nil {
				err = dialer.ErrShortRead
			}
			l.failed(slot, err)
			return
		}
		if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && c.state == stReady {
			// The server closed an idle pool connection: replace it.
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
	if l.e.hold {
		l.held++
		l.opened()
		c.state = stHeld
		if p := l.e.cfg.Ping; p > 0 {
			l.arm(s, tlPing, t+int64(p))
		}
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
		c.rdGot += int64(n)
	}
	t := l.e.now()
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
		n, err := sock.Read(int(c.fd), l.buf)
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
	if l.e.hold {
		// A ping answered: back to holding until the next one.
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
	switch {
	case !e.persistent:
		l.closeFD(s)
		if e.open {
			l.free = append(l.free, s)
		} else {
			l.start(s)
		}
	case c.fd < 0:
		// A persistent connection the server closed with the response
		// (framed): reconnect, for the next scheduled transaction
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
			c.state = stHeld
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
	if l.e.hold {
		l.holdFailed(s, err)
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

func (l *loop) unready(s int32) {
	for i, r := range l.ready {
		if r == s {
			l.ready[i] = l.ready[len(l.ready)-1]
			l.ready = l.ready[:len(l.ready)-1]
			return
		}
	}
}

func (l *loop) closeFD(s int32) {
	c := &l.conns[s]
	l.disarm(s)
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
	pl := &l.lists[tlPing]
	for pl.head >= 0 && l.conns[pl.head].due <= now {
		s := pl.head
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
			l.failed(li.head, class)
		}
	}
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

var (
	timeoutConnect  error = &dialer.TimeoutError{Phase: dialer.FailConnectTimeout}
	timeoutResponse error = &dialer.TimeoutError{Phase: dialer.FailResponseTimeout}
)

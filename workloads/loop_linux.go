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
	"github.com/connbench/connbench/protocol"
	"golang.org/x/sys/unix"
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
	mode       mode // the workload's hooks into the common state machine
	// readyList: an open-loop pooled run, whose due transactions take a
	// connected slot from the ready list; other open-loop runs take a
	// free slot and open a connection.
	readyList bool
	// The pool's reuse limits (Config.RequestsPerConn, MaxConnAge, ns);
	// 0: none.
	perConn int32
	maxAge  int64
	// reuse: an ended connection leaves its socket to the slot's next
	// connection where it can (dialer.Reuses, dialer.Reset,
	// Result.SocketsReused).
	reuse   bool
	hold    holdState // the hold mode's shared figures
	wakeAll func()
}

func (e *engine) now() int64 { return int64(time.Since(e.base)) }

type intervalAcc struct {
	tx, conns, out, in int64
	// connect() calls and the ns inside them, and the loop's busy ns
	// (outside epoll_wait), for telling when the port search stalls.
	connCalls, connNs, busyNs int64
	fail                      map[string]int64
	rec                       [nPhases]*histogram.Recorder
}

type report struct {
	loop, idx int
	acc       intervalAcc
	inflight  int
	final     bool
}

// loop is one event loop, locked to its OS thread and owning its
// connections, its recorders and its timers outright, so the hot path takes
// no locks; its figures are merged after the run. A connection is a small
// state machine driven by epoll (conn_linux.go), not a goroutine.
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
	cpuT0, cpuT              time.Duration // CLOCK_THREAD_CPUTIME_ID: exact
	cpuMarked                bool
	err                      error
	held                     int64 // hold: connections open now
	// TCP_INFO
	tinfo unix.TCPInfo
	ti    TCPInfoStats
	// The loop's own account (measured part): connect() calls and the ns
	// inside them, ns outside epoll_wait, the latest a timer fired after
	// it was due, open-loop starts that waited for a slot.
	connCalls, connNs, busyNs, lateMax, heldByInflight int64
	heldK                                              int64 // the first of this loop's schedule not yet counted in heldByInflight
	// The pool (measured part): connections closed at a reuse limit,
	// closed by the server, and transactions retried on a new connection.
	recycled, serverClosed, retried int64
	reused                          int64 // measured connections on the slot's previous socket
	// Reset attempts and their successes, all connections: a loop stops
	// trying when few succeed (--close fin where this side closes first).
	resetTries, resetOK int64
	// Spinning before a sleep (wait), and its measured part: the time
	// spent spinning, the spins and those that found events.
	spin                    sock.Spin
	spinNs, spins, spinHits int64
	// Pass bounds: clk is the last clock reading (refreshed after every
	// connect() call, the slow part of a start), awake when the loop left
	// epoll_wait, passEnd when the current pass must stop starting new
	// work and fire its due timers.
	clk, awake, passEnd int64
}

// maxPass bounds a loop pass that keeps starting connections (each
// connect() may take a millisecond when the kernel's port search is slow):
// past it the loop fires its due timers, polls and records what completed
// before starting more, so that neither timeouts nor handshake times take
// on the length of a pass.
const maxPass = int64(2 * time.Millisecond)

// Run runs cfg's workload until its duration or request count is reached,
// ctx is cancelled (then Result.Partial is set), or with UntilExhausted the
// ports run out. It returns an error only when the run could not start (bad
// configuration, no epoll); failures of individual connections are counted
// in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	if cfg.TLS.on() {
		return runTLS(ctx, cfg)
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
	if cfg.Requests > 0 {
		e.useQuota = true
		e.quota.Store(cfg.Requests)
	}
	e.readyList = e.open && e.persistent
	e.perConn, e.maxAge = int32(cfg.RequestsPerConn), int64(cfg.MaxConnAge)
	e.mode = modes[cfg.Workload]
	// A mode that takes over the ends of connections (hold) closes its own.
	e.reuse = d.Reuses() && e.mode.finish == nil && e.mode.failed == nil
	if e.mode.setup != nil {
		e.mode.setup(e)
	}
	e.reports = make(chan report, cfg.Loops*16)
	// A spare set per loop: the coordinator recycles an interval's
	// recorders while the loop fills the next interval's. More would only
	// keep recorders (270 KiB each) alive after a slow interval.
	kept := 0
	for j := 0; j < nPhases; j++ {
		if e.keepPhase(j) {
			kept++
		}
	}
	e.pool = make(chan *histogram.Recorder, cfg.Loops*max(kept, 1))
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
	if cfg.Duration > 0 && e.mode.until == nil {
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
		StoppedBy:         co.stoppedBy,
		Stall:             co.stall,
		FirstAddrNotAvail: -1,
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
		res.CPUThread += l.cpuT
		res.Behind += l.behind
		res.ConnectCalls += l.connCalls
		res.ConnectCallTime += time.Duration(l.connNs)
		res.LoopBusy += time.Duration(l.busyNs)
		res.TimerLateMax = max(res.TimerLateMax, time.Duration(l.lateMax))
		res.HeldByInflight += l.heldByInflight
		res.Recycled += l.recycled
		res.ServerClosed += l.serverClosed
		res.Retried += l.retried
		res.SocketsReused += l.reused
		res.Spin += time.Duration(l.spinNs)
		res.Spins += l.spins
		res.SpinHits += l.spinHits
		if e.mode.collect != nil {
			e.mode.collect(e, l, res)
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
		if e.cfg.PortRange > 0 {
			if res.ConnectCall == nil {
				res.ConnectCall = make([]*histogram.Recorder, len(l.cc))
			}
			for b, r := range l.cc {
				switch {
				case r == nil:
				case res.ConnectCall[b] == nil:
					res.ConnectCall[b] = r
				default:
					res.ConnectCall[b].Merge(r)
				}
			}
		}
		if l.firstNotAvail >= 0 && (res.FirstAddrNotAvail < 0 || time.Duration(l.firstNotAvail-e.measureAt) < res.FirstAddrNotAvail) {
			res.FirstAddrNotAvail = time.Duration(l.firstNotAvail - e.measureAt)
		}
		last = max(last, l.lastEnd)
	}
	for j, name := range Phases {
		if r := co.total[j]; r != nil {
			res.Phases[name] = r
		}
		switch {
		case !e.keepPhase(j):
			delete(res.Phases, name)
		case res.Phases[name] == nil:
			res.Phases[name] = histogram.New() // kept, none recorded: count 0
		}
	}
	for b, r := range res.ConnectCall {
		if r == nil {
			res.ConnectCall[b] = histogram.New()
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
		fail: map[string]int64{}, firstNotAvail: -1, nextK: int64(id), heldK: int64(id),
		spin: sock.Spin{Max: e.cfg.Spin}}
	// Interval recorders (about 270 KiB each) up front only for the
	// phases the run records, and the first occupancy band: a run split
	// over many processes (a hold of a million connections takes over
	// fifty) does not pay for the transaction phase of a hold without
	// --ping or for the bands the ports never reach (made on first use:
	// record, recordCC). Made here, not on the hot path.
	if e.cfg.PortRange > 0 {
		l.cc[0] = histogram.New()
	}
	var all [nPhases]bool
	for j := range all {
		all[j] = e.records(j)
	}
	l.iv = l.newAcc(all)
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

// newAcc starts an interval's accumulator, with recorders (from the pool
// the coordinator refills) for the phases in want: those the interval
// before recorded, so that a steady run takes them here and not on the
// hot path. A phase that starts recording in the interval takes one then
// (record); an interval after one that recorded nothing, as while a hold
// holds, takes none.
func (l *loop) newAcc(want [nPhases]bool) intervalAcc {
	a := intervalAcc{fail: map[string]int64{}}
	for j, w := range want {
		if w {
			a.rec[j] = l.e.recorder()
		}
	}
	return a
}

// records reports whether the run records phase j: the phases it keeps,
// but for the transaction phase of a hold without --ping.
func (e *engine) records(j int) bool {
	if j == phTransaction && e.cfg.Workload == "hold" && e.cfg.Ping == 0 {
		return false
	}
	return e.keepPhase(j)
}

// recorder takes a recorder from the pool, or makes one.
func (e *engine) recorder() *histogram.Recorder {
	select {
	case r := <-e.pool:
		return r
	default:
		return histogram.New()
	}
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	e := l.e
	if e.open {
		l.nextAt = e.sched.at(l.nextK)
	}
	l.nextTick = int64(e.cfg.Interval)
	l.awake = e.now()
	for {
		now := e.now()
		// Timers first: whatever the pass before did (many slow
		// connect() calls), what fell due fires now.
		l.expire(now)
		l.passEnd = now + maxPass
		if d := l.nextDue(); d >= 0 && d < l.passEnd {
			l.passEnd = d
		}
		l.clk = now
		if !l.cpuMarked && now >= e.measureAt {
			l.cpuMarked = true
			if l.id == 0 && e.cfg.Warmup > 0 && e.cfg.OnMeasure != nil {
				// Loop 0 wakes at the boundary itself (its wait aims at
				// it to the nanosecond): the caller's snapshot lands
				// there, not a timer's late firing after it.
				e.cfg.OnMeasure()
			}
			l.cpuU0, l.cpuS0 = kernel.ThreadCPU()
			l.cpuT0 = threadClock()
		}
		for now >= l.nextTick {
			l.tick(false)
		}
		if e.stop.Load() || (e.endAt > 0 && now >= e.endAt) {
			break
		}
		if until := e.mode.until; until != nil {
			if at := until(e); (at > 0 && now >= at) || e.drain.Load() {
				break // Ctrl-C ends such a run at once: nothing is in flight that must finish
			}
		}
		if len(l.pending) > 0 {
			// Swap, because a start may queue its slot again on failure;
			// that one waits for the next round (and its time check).
			work := l.pending
			l.pending, l.spare = l.spare[:0], work
			for i, s := range work {
				if e.open {
					l.connectPool(s)
				} else {
					l.start(s)
				}
				if l.clk >= l.passEnd && i+1 < len(work) {
					// The pass is long enough: the rest waits for
					// the next one, after the timers.
					l.pending = append(l.pending, work[i+1:]...)
					break
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
		if until := e.mode.until; until != nil {
			if at := until(e); at > 0 {
				wait = minWait(wait, time.Duration(at-now))
			}
		}
		if e.open && !l.schedDone && l.canStart() {
			wait = minWait(wait, time.Duration(l.nextAt-now))
		}
		l.busy(e.now())
		evs, err := l.wait(wait)
		l.awake = e.now()
		if err != nil {
			l.err = err
			break
		}
		l.clk, l.passEnd = l.awake, l.awake+maxPass
		if d := l.nextDue(); d >= 0 && d < l.passEnd {
			l.passEnd = d
		}
		for i := range evs {
			l.event(evs[i].Fd, evs[i].Pad, evs[i].Events)
			if l.clk >= l.passEnd {
				// Events that start connections (a closed loop
				// reconnects from here) made the pass long: fire
				// what fell due before the rest. (A slot a timer
				// closes ignores its later events: its fd is gone.)
				now := e.now()
				l.expire(now)
				l.passEnd = now + maxPass
				if d := l.nextDue(); d >= 0 && d < l.passEnd {
					l.passEnd = d
				}
			}
		}
	}
	end := e.now()
	l.busy(end)
	if e.endAt > 0 && end > e.endAt {
		end = e.endAt
	}
	if e.stop.Load() || e.endAt > 0 || e.mode.until != nil {
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
		l.cpuT = threadClock() - l.cpuT0
	}
	// Abandon what is in flight: it is neither a success nor a failure.
	for i := range l.conns {
		if l.conns[i].fd >= 0 {
			l.closeFD(int32(i))
		}
	}
	l.inflight = 0
	l.tick(true)
}

// wait waits up to d for events, spinning first with work in flight
// (sock.Spin, Config.Spin). Spin time is not busy time (busy); it is CPU
// time, and the result reports it (Result.Spin).
func (l *loop) wait(d time.Duration) ([]unix.EpollEvent, error) {
	t0 := l.e.now()
	evs, _, spun, hit, err := l.spin.Wait(l.p, d, l.inflight > 0)
	if spun > 0 {
		l.spun(t0, t0+int64(spun), hit)
	}
	return evs, err
}

// spun accounts a spin from t0 to t1 (its measured part), hit: it found
// events.
func (l *loop) spun(t0, t1 int64, hit bool) {
	t0 = max(t0, l.e.measureAt)
	if l.e.endAt > 0 {
		t1 = min(t1, l.e.endAt)
	}
	if t1 <= t0 {
		return
	}
	l.spinNs += t1 - t0
	l.spins++
	if hit {
		l.spinHits++
	}
}

// busy counts the time from leaving epoll_wait to now as the loop's work,
// the measured part of it.
func (l *loop) busy(now int64) {
	e := l.e
	from := max(l.awake, e.measureAt)
	if e.endAt > 0 {
		now = min(now, e.endAt)
	}
	if now > from {
		l.busyNs += now - from
		l.iv.busyNs += now - from
	}
	l.awake = now
}

// threadClock is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID:
// the scheduler's exact runtime, user and system together); 0 if the
// kernel cannot say.
func threadClock() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// tick hands the finished interval's figures to the coordinator.
func (l *loop) tick(final bool) {
	var want [nPhases]bool
	for j, r := range l.iv.rec {
		want[j] = r != nil && r.Count() > 0
	}
	l.e.reports <- report{loop: l.id, idx: l.tickIdx, acc: l.iv, inflight: l.inflight, final: final}
	if final {
		return
	}
	l.iv = l.newAcc(want)
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

// record records v in phase ph of the loop's current interval. Each value
// is recorded once: the coordinator adds the intervals up into the run's
// phases (coordinator.total), so the hot path touches one histogram, not
// two, per value.
func (l *loop) record(ph int, v int64) {
	if l.iv.rec[ph] == nil {
		l.iv.rec[ph] = l.e.recorder()
	}
	l.iv.rec[ph].Record(v)
}

// recordCC records a connect() call's time in occupancy band b.
func (l *loop) recordCC(b int32, v int64) {
	if l.cc[b] == nil {
		l.cc[b] = histogram.New()
	}
	l.cc[b].Record(v)
}

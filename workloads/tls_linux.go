package workloads

// The TLS path. crypto/tls drives its handshake and records through a
// blocking net.Conn and keeps a handshake error for good, so it cannot be
// stepped by the epoll loops a readiness event at a time; here each
// connection in flight gets a goroutine of its own instead, bounded by -c
// (or --max-inflight for an open loop of new connections). Each goroutine
// is locked to a thread for its life, so that the thread's CPU clock is the
// goroutine's: the handshake's CPU is read around it exactly. The TCP
// socket is still the dialer's (same options, same non-blocking connect,
// timed from the connect() call to writability); Go's poller waits on it.
// The path's own cost is measured by running plain TCP through it (Plain)
// against the engine.

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/protocol"
	"github.com/connbench/connbench/tlsconf"
	"golang.org/x/sys/unix"
)

// Phase indices of the TLS path.
const (
	tpHandshake = iota
	tpTLS
	tpTLSFull
	tpTLSResumed
	tpFirstByte
	tpResponse
	tpTransaction
	tpScheduled
	tpStartLag
	tpConnFirst
	nTLSPhases
)

var tlsPhaseNames = [nTLSPhases]string{PhaseHandshake, PhaseTLSHandshake, PhaseTLSFull, PhaseTLSResumed,
	PhaseFirstByte, PhaseResponse, PhaseTransaction, PhaseScheduled, PhaseStartLag, PhaseConnectFirstByte}

type tlsEngine struct {
	cfg        Config
	tcfg       *tls.Config
	plain      bool
	exchange   bool
	persistent bool
	open       bool
	dial       *dialer.Dialer
	base       time.Time
	measureAt  int64
	endAt      int64
	quota      atomic.Int64
	useQuota   bool
	stop       atomic.Bool
	drain      atomic.Bool
	nextK      atomic.Int64
	srcNext    atomic.Uint64
	inflight   atomic.Int64
	sched      schedule
	trailing   error
	hold       *tlsHold // the hold workload's; nil for others

	mu     sync.Mutex // guards what follows: one lock per transaction
	tot    tlsAcc
	iv     tlsAcc
	series []Interval
	ivIdx  int
	stats  TLSStats
	status [protocol.NumStatus]int64
	last   int64
	behind int64
	// The pool's connections (measured part): closed at a reuse limit,
	// and ended by the server.
	recycled, serverClosed, retried int64
}

type tlsAcc struct {
	tx, conns, out, in int64
	fail               map[string]int64
	rec                [nTLSPhases]*histogram.Recorder
}

func newTLSAcc(keep func(int) bool) tlsAcc {
	a := tlsAcc{fail: map[string]int64{}}
	for j := range a.rec {
		if keep(j) {
			a.rec[j] = histogram.New()
		}
	}
	return a
}

func (e *tlsEngine) now() int64 { return int64(time.Since(e.base)) }

func (e *tlsEngine) keep(j int) bool {
	switch j {
	case tpTLS:
		return !e.plain
	case tpTLSFull, tpTLSResumed:
		return !e.plain && e.cfg.TLS.Resume == "tickets"
	case tpFirstByte, tpResponse:
		return e.exchange
	case tpScheduled:
		return e.open && e.hold == nil
	case tpStartLag:
		return e.open
	case tpConnFirst:
		return e.exchange && !e.persistent
	case tpTransaction:
		return e.hold == nil || e.exchange // a hold's pings
	}
	return true
}

// tlsWorker is one goroutine's state; tx is its transaction in progress.
type tlsWorker struct {
	e      *tlsEngine
	id     int
	buf    []byte
	framer protocol.Framer
	conn   *tlsConn // persistent: the open connection, or nil
	cur    atomic.Pointer[os.File]
	marked bool
	cpu0   time.Duration
	cpu    time.Duration
	u0, s0 time.Duration // getrusage(RUSAGE_THREAD) at the mark
	u, s   time.Duration
	tx     tlsTx
}

// tlsTx is what one transaction measured, recorded at its end.
type tlsTx struct {
	meas                         bool
	ph                           [nTLSPhases]int64 // -1: not recorded
	opened, handshook, resumed   bool
	hsCPU                        time.Duration
	hsOut, hsIn                  int64
	version, cipher, group, alpn string
	out, in                      int64
	status                       protocol.Status
	hasStatus                    bool
	recycled, serverClosed       bool
	retried                      bool
	holdOpen                     bool // a hold's connection opened: not a transaction
}

// tlsConn is a TCP connection on the TLS path: the dialer's socket as an
// *os.File (Go's poller waits on it), optionally under crypto/tls.
type tlsConn struct {
	n      int64 // transactions completed on it
	f      *os.File
	nc     *countConn
	tc     *tls.Conn // nil: plain
	tConn  int64
	target net.Addr
}

// countConn is the net.Conn crypto/tls runs over: it notes when the first
// byte was written (the ClientHello's) and counts bytes each way.
type countConn struct {
	f          *os.File
	e          *tlsEngine
	firstWrite int64
	out, in    int64
	raddr      net.Addr
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	c.in += int64(n)
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	if c.firstWrite == 0 {
		c.firstWrite = c.e.now()
	}
	n, err := c.f.Write(b)
	c.out += int64(n)
	return n, err
}

func (c *countConn) Close() error                       { return c.f.Close() }
func (c *countConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *countConn) RemoteAddr() net.Addr               { return c.raddr }
func (c *countConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *countConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *countConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// runTLS runs cfg (normalised) through the TLS path.
func runTLS(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.tlsNormalize(); err != nil {
		return nil, err
	}
	d, err := dialer.New(cfg.Target, cfg.Socket)
	if err != nil {
		return nil, errors.Join(errors.New("workloads"), err)
	}
	spec := Registry[cfg.Workload]
	e := &tlsEngine{cfg: cfg, plain: cfg.TLS.Plain, exchange: cfg.exchange(), persistent: spec.Persistent,
		open: cfg.open(), dial: d, sched: newSchedule(&cfg)}
	if cfg.Workload == "hold" {
		// -n is the connections to open; --duration the hold once all
		// were tried (the run has no end of its own).
		e.hold = newTLSHold(cfg.Requests)
	}
	if !e.plain {
		e.tcfg = cfg.TLS.Config.Clone()
		if e.tcfg.ServerName == "" && !e.tcfg.InsecureSkipVerify {
			// Verify the certificate against the target's address (Go sends
			// no SNI for an IP address).
			e.tcfg.ServerName = cfg.Target.Addr().String()
		}
	}
	if cfg.Protocol != nil {
		e.trailing = &protocol.Error{Protocol: cfg.Protocol.Name(), Reason: "bytes after the complete response"}
	}
	if cfg.Requests > 0 && e.hold == nil {
		e.useQuota = true
		e.quota.Store(cfg.Requests)
	}
	e.tot, e.iv = newTLSAcc(e.keep), newTLSAcc(e.keep)
	e.stats = TLSStats{Versions: map[string]int64{}, Ciphers: map[string]int64{}, Groups: map[string]int64{},
		ALPN: map[string]int64{}, Plain: e.plain}
	n := cfg.tlsWorkers()
	e.stats.Workers = n
	workers := make([]*tlsWorker, n)
	for i := range workers {
		w := &tlsWorker{e: e, id: i, buf: make([]byte, 16<<10)}
		if cfg.Protocol != nil && e.exchange {
			w.framer = cfg.Protocol.NewFramer()
		}
		workers[i] = w
	}
	spawn := cfg.Spawn
	if spawn == nil {
		spawn = func(f func()) error { go f(); return nil }
	}
	if cfg.OnReady != nil {
		cfg.OnReady()
	}
	e.base = time.Now()
	e.measureAt = int64(cfg.Warmup)
	if cfg.Duration > 0 && e.hold == nil {
		e.endAt = e.measureAt + int64(cfg.Duration)
	}
	if cfg.OnMeasure != nil {
		if cfg.Warmup == 0 {
			cfg.OnMeasure()
		} else {
			// At the warm-up's end, for the caller's snapshot (the
			// engine's loop 0 does it in its pass).
			t := time.AfterFunc(cfg.Warmup, cfg.OnMeasure)
			defer t.Stop()
		}
	}
	// The ticker first: its sampler counts the sockets toward the target
	// before the run opens any (on a thread in the client's namespace
	// when spawned there).
	done, tickDone, began := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var kstats *KernelStats
	if err := spawn(func() {
		ts := newTLSSampler(&cfg)
		close(began)
		e.ticker(done, ts)
		kstats = ts.end()
		close(tickDone)
	}); err != nil {
		close(began)
		go func() { e.ticker(done, nil); close(tickDone) }()
	}
	<-began
	var wg, pwg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		if err := spawn(func() { defer wg.Done(); w.run() }); err != nil {
			wg.Done()
			e.stop.Store(true)
		}
	}
	// A hold's pingers, and its end: once every attempt resolved, the
	// hold's time, then the pingers stop; the connections are closed after
	// the last interval is taken, so that it sees them all held.
	var pingers []*tlsWorker
	quit := make(chan struct{})
	var quitOnce sync.Once
	stopHold := func() { quitOnce.Do(func() { close(quit) }) }
	if e.hold != nil && cfg.Ping > 0 {
		for i := range int(min(int64(tlsPingers), cfg.Requests)) {
			w := &tlsWorker{e: e, id: n + i, buf: make([]byte, 16<<10)}
			if cfg.Protocol != nil {
				w.framer = cfg.Protocol.NewFramer()
			}
			pingers = append(pingers, w)
			pwg.Add(1)
			if err := spawn(func() { defer pwg.Done(); w.pinger(i, tlsPingers) }); err != nil {
				pwg.Done()
				e.stop.Store(true)
			}
		}
	}
	go func() {
		wg.Wait()
		if e.hold != nil {
			e.holdPhase(pingers, quit)
			pwg.Wait()
		}
		close(done)
	}()
	partial := false
	hard := func() {
		e.stop.Store(true)
		stopHold()
		for _, w := range append(workers, pingers...) {
			if f := w.cur.Load(); f != nil {
				f.SetDeadline(time.Now())
			}
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		partial = true
		e.drain.Store(true)
		stopHold()
		select {
		case <-done:
		case <-cfg.HardStop:
			hard()
			<-done
		}
	case <-cfg.HardStop:
		partial = true
		hard()
		<-done
	}
	<-tickDone
	var held int64
	if e.hold != nil {
		held = e.closeHeld()
	}
	res := &Result{Config: cfg, Start: e.base.Add(time.Duration(e.measureAt)), Partial: partial,
		Failures: e.tot.fail, Phases: map[string]*histogram.Recorder{}, Series: e.series,
		Stall: -1, FirstAddrNotAvail: -1, Behind: e.behind, Kernel: kstats}
	res.Connections, res.Transactions = e.tot.conns, e.tot.tx
	res.BytesSent, res.BytesReceived = e.tot.out, e.tot.in
	res.Recycled, res.ServerClosed, res.Retried = e.recycled, e.serverClosed, e.retried
	for j, r := range e.tot.rec {
		if r != nil {
			res.Phases[tlsPhaseNames[j]] = r
		}
	}
	if cfg.Protocol != nil && e.exchange {
		res.Statuses = map[string]int64{}
		for st, v := range e.status {
			if v > 0 {
				res.Statuses[protocol.Status(st).String()] += v
			}
		}
	}
	if e.hold != nil {
		e.holdResult(res, held)
	}
	for _, w := range append(workers, pingers...) {
		res.CPUThread += w.cpu
		res.CPUUser += w.u
		res.CPUSys += w.s
	}
	end := e.now()
	if e.endAt > 0 {
		end = min(end, e.endAt)
	} else {
		end = e.last
	}
	res.Elapsed = time.Duration(max(end-e.measureAt, 0))
	st := e.stats
	res.TLS = &st
	return res, nil
}

// ticker closes an interval at every boundary and once more at the end.
func (e *tlsEngine) ticker(done <-chan struct{}, ts *tlsSampler) {
	step := e.cfg.Interval
	for {
		next := e.base.Add(time.Duration(e.ivIdx+1) * step)
		t := time.NewTimer(time.Until(next))
		select {
		case <-t.C:
			e.closeInterval(int64(e.ivIdx+1)*int64(step), false, ts)
		case <-done:
			t.Stop()
			end := e.now()
			if e.endAt > 0 {
				end = min(end, e.endAt)
			}
			e.closeInterval(end, true, ts)
			return
		}
	}
}

func (e *tlsEngine) closeInterval(end int64, final bool, ts *tlsSampler) {
	e.mu.Lock()
	acc := e.iv
	idx := e.ivIdx
	e.iv = newTLSAcc(e.keep)
	e.ivIdx++
	e.mu.Unlock()
	start := int64(idx) * int64(e.cfg.Interval)
	if final && end <= start && acc.tx == 0 && len(acc.fail) == 0 {
		return
	}
	iv := Interval{Index: idx, Start: time.Duration(start - e.measureAt), End: time.Duration(end - e.measureAt),
		Warmup: end <= e.measureAt, Transactions: acc.tx, Connections: acc.conns, BytesSent: acc.out,
		BytesReceived: acc.in, Failures: acc.fail, Inflight: int(e.inflight.Load()), PortsInUse: -1,
		Phases: map[string]histogram.Summary{}, Hists: map[string]string{}}
	for j, r := range acc.rec {
		if r == nil || r.Count() == 0 {
			continue
		}
		iv.Phases[tlsPhaseNames[j]] = r.Summary()
		if enc, err := r.Encode(); err == nil {
			iv.Hists[tlsPhaseNames[j]] = enc
		}
	}
	ts.interval(&e.cfg, &iv)
	e.mu.Lock()
	e.series = append(e.series, iv)
	e.mu.Unlock()
	if e.cfg.OnInterval != nil {
		e.cfg.OnInterval(iv)
	}
}

// run is a worker's life. It is not pinned to a thread: a goroutine
// locked to its thread makes every wait on the network a thread switch,
// which halved a pooled run's rate. Only the handshake runs locked, for
// its CPU time; the client's CPU as a whole is the process's less the
// built-in listener's (the runner's collect).
func (w *tlsWorker) run() {
	e := w.e
	defer func() {
		if w.conn != nil {
			w.closeConn()
		}
	}()
	if e.hold != nil {
		w.runHold()
		return
	}
	for {
		now := e.now()
		if e.stop.Load() || e.drain.Load() || (e.endAt > 0 && now >= e.endAt) {
			return
		}
		intended := now
		if e.open {
			k := e.nextK.Add(1) - 1
			intended = e.sched.at(k)
			if e.endAt > 0 && intended >= e.endAt {
				return
			}
			if d := intended - now; d > 0 {
				// Sleep to the due time, waking for a stop at least every
				// 100 ms.
				for d > 0 && !e.stop.Load() && !e.drain.Load() {
					time.Sleep(time.Duration(min(d, int64(100*time.Millisecond))))
					d = intended - e.now()
				}
				now = e.now()
				if e.stop.Load() || e.drain.Load() || (e.endAt > 0 && now >= e.endAt) {
					return
				}
			}
		}
		meas := intended >= e.measureAt
		if e.useQuota && meas && e.quota.Add(-1) < 0 {
			return
		}
		if e.useQuota && !meas && e.drain.Load() {
			return
		}
		e.inflight.Add(1)
		w.transact(meas, intended, now)
		e.inflight.Add(-1)
	}
}

// mark reads the thread's CPU clock when the measured part begins.
func (w *tlsWorker) mark(now int64) {
	if !w.marked && now >= w.e.measureAt {
		w.marked = true
		w.cpu0 = threadClock()
		w.u0, w.s0 = kernel.ThreadCPU()
	}
}

// transact runs one transaction, started at now and due at intended.
func (w *tlsWorker) transact(meas bool, intended, now int64) {
	e := w.e
	tx := &w.tx
	*tx = tlsTx{meas: meas}
	for j := range tx.ph {
		tx.ph[j] = -1
	}
	if e.open {
		tx.ph[tpStartLag] = now - intended
	}
	tStart := now
	for retried := false; ; retried = true {
		reused := w.conn != nil
		if !reused {
			if err := w.open(); err != nil {
				w.fail(err)
				return
			}
			if !retried {
				tStart = w.conn.tConn
			}
		}
		if !e.exchange {
			t := e.now()
			tx.ph[tpTransaction] = t - tStart
			if e.open {
				tx.ph[tpScheduled] = t - intended
			}
			w.closeConn()
			w.done(t)
			return
		}
		got, err := w.exchange(tx, tStart, intended)
		if err == nil {
			return
		}
		if reused && !retried && got == 0 && tlsPeerClosed(err) {
			// The server closed the pooled connection (a keep-alive
			// timeout) as the request crossed its FIN: retried once on a
			// new connection, as HTTP clients do and the engine does
			// (Result.Retried), from the transaction's original start.
			w.closeConn()
			tx.serverClosed, tx.retried = true, true
			continue
		}
		w.fail(err)
		return
	}
}

// tlsPeerClosed reports whether err says the peer ended the connection
// (the errors come wrapped, from os.File and crypto/tls).
func tlsPeerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, dialer.ErrShortRead) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE)
}

// exchange writes the request on w.conn and reads the response, recording
// into tx; it returns the response bytes read and the error that ended it
// (nil: done and recorded).
func (w *tlsWorker) exchange(tx *tlsTx, tStart, intended int64) (int64, error) {
	e := w.e
	c := w.conn
	var rw io.ReadWriter = c.f
	if c.tc != nil {
		rw = c.tc
	}
	if to := e.cfg.Timeouts.Response; to > 0 {
		c.f.SetDeadline(w.deadline(e.now() + int64(to)))
	} else {
		c.f.SetDeadline(w.deadline(0))
	}
	req := e.cfg.Request
	if _, err := rw.Write(req); err != nil {
		return 0, err
	}
	tSent := e.now()
	var got int64
	var tFirst int64
	reusable := true
	if w.framer == nil {
		want := int64(e.cfg.ResponseSize)
		for got < want {
			n, err := rw.Read(w.buf[:min(int64(len(w.buf)), want-got)])
			if n > 0 && got == 0 {
				tFirst = e.now()
			}
			got += int64(n)
			if err != nil && got < want {
				if err == io.EOF {
					err = dialer.ErrShortRead
				}
				return got, err
			}
		}
	} else {
		f := w.framer
		f.Reset()
		for {
			n, err := rw.Read(w.buf)
			if n > 0 {
				if got == 0 {
					tFirst = e.now()
				}
				got += int64(n)
				used, complete, perr := f.Feed(w.buf[:n])
				if perr != nil {
					return got, perr
				}
				if complete {
					if used < n {
						return got, e.trailing
					}
					reusable = f.Reusable()
					break
				}
			}
			if err != nil {
				if err == io.EOF && got > 0 && f.EOF() {
					reusable = false
					break
				}
				if err == io.EOF {
					err = dialer.ErrShortRead
				}
				return got, err
			}
		}
		tx.status, tx.hasStatus = f.Status(), true
	}
	t := e.now()
	tx.ph[tpFirstByte] = tFirst - tSent
	tx.ph[tpResponse] = t - tSent
	tx.ph[tpTransaction] = t - tStart
	if !e.persistent {
		tx.ph[tpConnFirst] = tFirst - c.tConn
	}
	if e.open {
		tx.ph[tpScheduled] = t - intended
	}
	tx.out, tx.in = int64(len(req)), got
	c.n++
	switch {
	case !e.persistent:
		w.closeConn()
	case !reusable:
		tx.serverClosed = true
		w.closeConn()
	case (e.cfg.RequestsPerConn > 0 && c.n >= e.cfg.RequestsPerConn) || (e.cfg.MaxConnAge > 0 && t-c.tConn >= int64(e.cfg.MaxConnAge)):
		// A reuse limit (--requests-per-conn, --max-conn-age): the next
		// transaction opens a new connection and pays its handshakes.
		tx.recycled = true
		w.closeConn()
	}
	w.done(t)
	return got, nil
}

// deadline is the I/O deadline for a phase ending at ns (0: none), no
// later than the run's end.
func (w *tlsWorker) deadline(ns int64) time.Time {
	e := w.e
	if e.endAt > 0 && (ns == 0 || ns > e.endAt) {
		ns = e.endAt
	}
	if ns == 0 {
		return time.Time{}
	}
	return e.base.Add(time.Duration(ns))
}

// open connects (TCP, then TLS) and records both handshakes into w.tx.
func (w *tlsWorker) open() error {
	e := w.e
	tx := &w.tx
	src := 0
	if e.dial.NumSources() > 1 {
		src = int(e.srcNext.Add(1))
	}
	fd, err := e.dial.Open(src)
	if err != nil {
		return err
	}
	tConn := e.now()
	err = e.dial.Connect(fd)
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return err
	}
	f := os.NewFile(uintptr(fd), "tcp")
	w.cur.Store(f)
	c := &tlsConn{f: f, tConn: tConn}
	w.conn = c
	if err == unix.EINPROGRESS {
		var limit int64
		if to := e.cfg.Timeouts.Connect; to > 0 {
			limit = tConn + int64(to)
		}
		f.SetWriteDeadline(w.deadline(limit))
		if err := waitConnected(f); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && (e.endAt == 0 || e.now() < e.endAt) {
				err = &dialer.TimeoutError{Phase: dialer.FailConnectTimeout}
			}
			return err
		}
	}
	t := e.now()
	tx.ph[tpHandshake] = t - tConn
	tx.opened = true
	if e.plain {
		return nil
	}
	c.nc = &countConn{f: f, e: e, raddr: net.TCPAddrFromAddrPort(e.cfg.Target)}
	c.tc = tls.Client(c.nc, e.tcfg)
	var limit int64
	if to := e.cfg.Timeouts.Connect; to > 0 {
		limit = e.now() + int64(to)
	}
	f.SetDeadline(w.deadline(limit))
	runtime.LockOSThread() // the handshake's CPU, from this thread's clock
	cpu0 := threadClock()
	err = c.tc.Handshake()
	t = e.now()
	tx.hsCPU = threadClock() - cpu0
	runtime.UnlockOSThread()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && e.endAt > 0 && t >= e.endAt {
			return err // the run's end, not a timeout
		}
		return &tlsError{err}
	}
	tx.ph[tpTLS] = t - c.nc.firstWrite
	st := c.tc.ConnectionState()
	tx.handshook, tx.resumed = true, st.DidResume
	if e.cfg.TLS.Resume == "tickets" {
		if st.DidResume {
			tx.ph[tpTLSResumed] = tx.ph[tpTLS]
		} else {
			tx.ph[tpTLSFull] = tx.ph[tpTLS]
		}
	}
	tx.hsOut, tx.hsIn = c.nc.out, c.nc.in
	tx.version = tlsconf.VersionName(st.Version)
	tx.cipher = tls.CipherSuiteName(st.CipherSuite)
	tx.group = st.CurveID.String()
	tx.alpn = st.NegotiatedProtocol
	return nil
}

// tlsError marks an error of the TLS handshake, for its classification.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// waitConnected waits (in Go's poller) for a non-blocking connect on f to
// finish, and returns its error.
func waitConnected(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	werr := rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = err
			return true
		}
		if v != 0 {
			cerr = unix.Errno(v)
			return true
		}
		if _, err := unix.Getpeername(int(fd)); err == unix.ENOTCONN {
			return false // still connecting: wait for writability
		}
		return true
	})
	if werr != nil {
		return werr
	}
	return cerr
}

func (w *tlsWorker) closeConn() {
	c := w.conn
	w.conn = nil
	w.cur.Store(nil)
	if c == nil {
		return
	}
	if c.tc != nil {
		// Bound the close_notify's write: a peer that stopped reading
		// must not hold the worker.
		c.f.SetWriteDeadline(time.Now().Add(time.Second))
		c.tc.Close()
		return
	}
	c.f.Close()
}

// fail counts err against the transaction, unless the run's end cut it.
func (w *tlsWorker) fail(err error) {
	e := w.e
	w.closeConn()
	now := e.now()
	if e.stop.Load() || (e.endAt > 0 && now >= e.endAt) {
		return // abandoned at the end: neither a success nor a failure
	}
	class := tlsClassify(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if w.tx.meas {
		e.tot.fail[class]++
		e.iv.fail[class]++
		e.last = max(e.last, now)
	}
}

func tlsClassify(err error) string {
	var te *tlsError
	if errors.As(err, &te) {
		if c := tlsconf.Classify(te.err); c != "" {
			return c
		}
		if errors.Is(te.err, io.EOF) || errors.Is(te.err, io.ErrUnexpectedEOF) {
			return dialer.FailEOF
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return dialer.FailResponseTimeout
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return dialer.FailEOF
	}
	return classify(err)
}

// done records the completed transaction at t.
func (w *tlsWorker) done(t int64) {
	e := w.e
	tx := &w.tx
	if !tx.meas {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range [2]*tlsAcc{&e.tot, &e.iv} {
		if !tx.holdOpen {
			a.tx++
		}
		a.out += tx.out
		a.in += tx.in
		if tx.opened {
			a.conns++
		}
		for j, v := range tx.ph {
			if v >= 0 && a.rec[j] != nil {
				a.rec[j].Record(v)
			}
		}
	}
	e.last = max(e.last, t)
	if tx.recycled {
		e.recycled++
	}
	if tx.serverClosed {
		e.serverClosed++
	}
	if tx.retried {
		e.retried++
	}
	if tx.hasStatus {
		e.status[tx.status]++
	}
	if tx.handshook {
		s := &e.stats
		s.Handshakes++
		s.CPUHandshake += tx.hsCPU
		if tx.resumed {
			s.Resumed++
			s.CPUResumed += tx.hsCPU
		} else {
			s.CPUFull += tx.hsCPU
		}
		s.BytesOut += tx.hsOut
		s.BytesIn += tx.hsIn
		s.Versions[tx.version]++
		s.Ciphers[tx.cipher]++
		s.Groups[tx.group]++
		if tx.alpn != "" {
			s.ALPN[tx.alpn]++
		}
	}
}

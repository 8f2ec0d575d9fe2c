package workloads

import (
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/kernel"
)

// coordinator gathers the loops' interval reports into the time series,
// samples the kernel once per interval (socket states toward the target,
// counters), publishes the port-occupancy band the loops use to file
// connect() timings, and stops the run on port exhaustion when asked. It
// runs on its own goroutine, off the loops' hot path.
type coordinator struct {
	e       *engine
	loops   []*loop
	finals  []int // per loop: index of its final report, -1 while running
	pending map[int]*pendingInterval
	next    int // next interval index to finalise

	sampler   *kernel.Sampler
	countersT kernel.Counters // at the start
	countersI kernel.Counters // at the last interval
	stats     KernelStats
	sampled   bool
	skip      int          // intervals left without a socket sample (sampleBudget)
	dumping   chan sampled // a socket sample under way; nil: none

	// total is the run's phases: every interval's recorders added up as
	// they are finalised (the loops record each value once, in their
	// interval's recorder).
	total     [nPhases]*histogram.Recorder
	series    []Interval
	exhausted bool
	stoppedBy string
	stall     time.Duration // -1: none seen
	// connect() calls and their time while the range was mostly free:
	// the baseline the stall is measured against.
	baseCalls, baseNs int64
}

type pendingInterval struct {
	got      int
	acc      intervalAcc
	inflight int
	end      int64 // ns since base, for the last (partial) interval
}

// countersDir is where the coordinator reads the kernel's counters: its own
// thread's view, so that a coordinator spawned inside a network namespace
// (Config.Spawn) reads that namespace's (/proc/self/net is the main
// thread's namespace).
const countersDir = "/proc/thread-self"

func newCoordinator(e *engine, loops []*loop) *coordinator {
	co := &coordinator{e: e, loops: loops, finals: make([]int, len(loops)), pending: map[int]*pendingInterval{}, stall: -1}
	for i := range co.finals {
		co.finals[i] = -1
	}
	if !e.cfg.NoSample && e.cfg.Spawn == nil {
		// Before the run's clock starts: the sample walks every socket
		// of the namespace, and the loops would start that much late.
		// A plain goroutine, like the coordinator's, is in the process's
		// namespace, whatever thread the caller is locked to.
		done := make(chan struct{})
		go func() { co.startSample(); close(done) }()
		<-done
	}
	return co
}

// begin takes the "before" readings; called just before the loops start.
func (co *coordinator) begin() {
	if co.e.cfg.NoSample {
		return
	}
	if co.stats.Scope == "" {
		// Spawned into the run's own namespace, which is all but empty:
		// the sample is quick.
		co.startSample()
	}
	if s, err := kernel.NewSampler(); err == nil {
		co.sampler = s
	}
	if c, err := kernel.ReadCounters(countersDir); err == nil {
		co.countersT, co.countersI = c, c
	}
	co.stats.PeakStates = map[string]int{}
}

// startSample counts the sockets toward the target before the run opens
// any, warm-up included, and says which sockets the figures will count.
// In a shared namespace the samples cannot tell the run's sockets from
// those of earlier runs: a TIME_WAIT socket lingers 60 s after its run,
// and an RST run right after a FIN run to the same target would report
// the FIN run's TIME_WAIT as its own. Telling them apart by local port
// would cost a getsockname per connection; instead what was there at the
// start is recorded, so a reader sees how much of a peak predates the run.
// It uses a sampler of its own, opened in the caller's namespace and closed
// at once, so that nothing is left open should the run fail to start.
func (co *coordinator) startSample() {
	co.stats.Scope = ScopeHost
	if co.e.cfg.OwnNamespace || co.e.cfg.Spawn != nil {
		co.stats.Scope = ScopeNamespace
	}
	s, err := kernel.NewSampler()
	if err != nil {
		return
	}
	defer s.Close()
	if smp, err := s.Sample(kernel.Filter{Remote: co.e.cfg.Target}); err == nil {
		co.stats.StatesAtStart = smp.States.Map()
	}
}

func (co *coordinator) run() {
	for r := range co.e.reports {
		p := co.pending[r.idx]
		if p == nil {
			p = &pendingInterval{acc: intervalAcc{fail: map[string]int64{}}}
			co.pending[r.idx] = p
		}
		p.got++
		p.inflight += r.inflight
		p.acc.tx += r.acc.tx
		p.acc.conns += r.acc.conns
		p.acc.out += r.acc.out
		p.acc.in += r.acc.in
		p.acc.connCalls += r.acc.connCalls
		p.acc.connNs += r.acc.connNs
		p.acc.busyNs += r.acc.busyNs
		for k, v := range r.acc.fail {
			p.acc.fail[k] += v
		}
		for j, rec := range r.acc.rec {
			if rec == nil {
				continue
			}
			if p.acc.rec[j] == nil {
				p.acc.rec[j] = rec
				continue
			}
			p.acc.rec[j].Merge(rec)
			co.recycle(rec)
		}
		if r.final {
			co.finals[r.loop] = r.idx
			p.end = max(p.end, co.e.now())
		}
		for co.ready(co.next) {
			co.finalize(co.next)
			co.next++
		}
	}
	// The channel is closed: every loop has ended. Finalise the rest.
	for ; co.next <= co.maxIndex(); co.next++ {
		co.finalize(co.next)
	}
	if co.sampler != nil {
		if co.dumping != nil {
			<-co.dumping // the sampler's socket is in use until the dump ends
		}
		co.sampler.Close()
	}
	if co.countersT != nil {
		if c, err := kernel.ReadCounters(countersDir); err == nil {
			co.stats.Counters = keyDelta(c, co.countersT)
		}
	}
}

// ready: every loop still running at interval idx has reported it.
func (co *coordinator) ready(idx int) bool {
	p := co.pending[idx]
	if p == nil {
		return false
	}
	want := 0
	for _, f := range co.finals {
		if f < 0 || f >= idx {
			want++
		}
	}
	return p.got >= want
}

func (co *coordinator) maxIndex() int {
	m := co.next - 1
	for idx := range co.pending {
		m = max(m, idx)
	}
	return m
}

func (co *coordinator) recycle(r *histogram.Recorder) {
	r.Reset()
	select {
	case co.e.pool <- r:
	default:
	}
}

func (co *coordinator) finalize(idx int) {
	e := co.e
	p := co.pending[idx]
	delete(co.pending, idx)
	if p == nil {
		p = &pendingInterval{acc: intervalAcc{fail: map[string]int64{}}}
	}
	step := int64(e.cfg.Interval)
	start, end := int64(idx)*step, int64(idx+1)*step
	if p.end > 0 && p.end < end {
		end = p.end
	}
	if e.endAt > 0 && end > e.endAt {
		end = e.endAt
	}
	iv := Interval{
		Index:           idx,
		Start:           time.Duration(start - e.measureAt),
		End:             time.Duration(end - e.measureAt),
		Warmup:          end <= e.measureAt,
		Transactions:    p.acc.tx,
		Connections:     p.acc.conns,
		BytesSent:       p.acc.out,
		BytesReceived:   p.acc.in,
		Failures:        p.acc.fail,
		Inflight:        p.inflight,
		ConnectCalls:    p.acc.connCalls,
		ConnectCallTime: time.Duration(p.acc.connNs),
		LoopBusy:        time.Duration(p.acc.busyNs),
		Phases:          map[string]histogram.Summary{},
		Hists:           map[string]string{},
	}
	idle := true
	for j, rec := range p.acc.rec {
		if rec == nil {
			continue
		}
		if rec.Count() > 0 {
			if co.total[j] == nil {
				co.total[j] = histogram.New()
			}
			co.total[j].Merge(rec)
		}
		idle = idle && rec.Count() == 0
		if rec.Count() > 0 && co.e.keepPhase(j) {
			iv.Phases[Phases[j]] = intervalSummary(rec)
			if enc, err := rec.Encode(); err == nil {
				iv.Hists[Phases[j]] = enc
			}
		}
		co.recycle(rec)
	}
	if idle && len(co.pending) == 0 {
		// An interval that recorded nothing (a hold holding, or waiting
		// for its turn): let the spare recorders go, 270 KiB each, in
		// every process of a hold; an interval that records again makes
		// new ones.
	drain:
		for {
			select {
			case <-e.pool:
			default:
				break drain
			}
		}
	}
	if end <= start && p.acc.tx == 0 && len(p.acc.fail) == 0 {
		return // the empty tail of a run that ended on an interval boundary
	}
	ports := co.sample(&iv)
	portRange := e.cfg.PortRange * max(1, e.dial.NumSources())
	var base time.Duration
	if co.baseCalls > 0 {
		base = time.Duration(co.baseNs / co.baseCalls)
	}
	if !iv.Warmup {
		iv.Stalled = StallSeen(iv.ConnectCalls, iv.ConnectCallTime, iv.LoopBusy, ports, portRange, base)
		if iv.Stalled && co.stall < 0 {
			co.stall = iv.End
		}
	}
	// The baseline: intervals (warm-up too) with the range mostly free, or,
	// without samples, the first interval that made calls.
	if free := ports >= 0 && portRange > 0 && float64(ports) < StallOccupancy*float64(portRange); free || (ports < 0 && co.baseCalls == 0) {
		co.baseCalls += iv.ConnectCalls
		co.baseNs += int64(iv.ConnectCallTime)
	}
	co.series = append(co.series, iv)
	if e.cfg.UntilExhausted && !iv.Warmup && !co.exhausted {
		na := iv.Failures[dialer.FailAddrNotAvail]
		attempts := iv.Transactions
		for _, v := range iv.Failures {
			attempts += v
		}
		switch {
		case na > 0 && 2*na >= attempts:
			co.stoppedBy = StopAddrNotAvail
		case iv.Stalled:
			co.stoppedBy = StopPortSearchStall
		}
		if co.stoppedBy != "" {
			co.exhausted = true
			e.stop.Store(true)
			for _, l := range co.loops {
				l.p.Wake()
			}
		}
	}
	if e.cfg.OnInterval != nil {
		e.cfg.OnInterval(iv)
	}
}

// keepPhase reports whether the run records phase j at all.
func (e *engine) keepPhase(j int) bool {
	switch j {
	case phFirstByte, phResponse:
		return e.exchange
	case phScheduled, phStartLag:
		return e.open
	case phConnFirst:
		return e.exchange && !e.persistent
	case phFOCold, phFOWarm:
		return e.exchange && !e.persistent && e.fastopen != dialer.FastOpenOff
	}
	return true
}

// sample counts the run's sockets by state and reads the counters. It
// returns the local ports in use toward the target, -1 if not sampled.
func (co *coordinator) sample(iv *Interval) int {
	e := co.e
	ports := -1
	if r, ok := co.takeSample(); ok {
		s, err, took := r.s, r.err, r.took
		over := e.cfg.Interval / 2
		if e.cfg.Workload == "hold" {
			over = e.cfg.Interval / sampleBudget // its dumps grow with what it holds
		}
		if budget := e.cfg.Interval / sampleBudget; budget > 0 && took > over {
			co.skip = int(min(took/budget, maxSkip))
		}
		if err == nil {
			co.sampled = true
			co.stats.Samples++
			co.stats.SampleMaxNs = max(co.stats.SampleMaxNs, int64(took))
			iv.States = s.States.Map()
			iv.PortsInUse = s.LocalPorts
			ports = s.LocalPorts
			co.stats.PeakPortsInUse = max(co.stats.PeakPortsInUse, s.LocalPorts)
			for k, v := range iv.States {
				co.stats.PeakStates[k] = max(co.stats.PeakStates[k], v)
			}
			if pr := e.cfg.PortRange; pr > 0 {
				n := max(1, e.dial.NumSources())
				e.band.Store(int32(occupancyBand(float64(s.LocalPorts) / float64(pr*n))))
			}
		}
	}
	if co.countersI != nil {
		if c, err := kernel.ReadCounters(countersDir); err == nil {
			iv.Counters = keyDelta(c, co.countersI)
			co.countersI = c
		}
	}
	return ports
}

// intervalPercentiles are what an interval's summary holds, in one scan.
var intervalPercentiles = []float64{0, 50, 90, 99, 99.9, 100}

// intervalSummary is an interval's summary of rec: its count, minimum,
// percentiles and maximum, found in one prefix-sum scan of the counts.
// The mean and standard deviation (two more walks of all 33,792 buckets
// each, with the maximum a third) are left out: the document's and the
// progress line's interval figures do not use them, and in a hold split
// over fifty processes the full summaries took 6% of the machine's CPU
// while the connections opened.
func intervalSummary(rec *histogram.Recorder) histogram.Summary {
	n := rec.Count()
	if n == 0 {
		return histogram.Summary{}
	}
	v := rec.Hist().ValueAtPercentilesSlice(intervalPercentiles)
	return histogram.Summary{Count: n, MinNs: v[0], P50Ns: v[1], P90Ns: v[2], P99Ns: v[3], P999Ns: v[4], MaxNs: v[5], Overflow: rec.Overflow()}
}

// sampled is one socket sample and how long it took.
type sampled struct {
	s    kernel.Sample
	err  error
	took time.Duration
}

// takeSample returns the socket sample for the interval being finalised,
// if there is one. The dump runs on its own goroutine and is waited for
// up to half an interval: a dump that takes longer (a million sockets)
// goes on while the coordinator finalises the next intervals without one,
// and its result is that of the interval it ends in. Spawned into a
// namespace (Config.Spawn), the dump stays on the coordinator's thread.
func (co *coordinator) takeSample() (sampled, bool) {
	if co.sampler == nil {
		return sampled{}, false
	}
	if co.dumping == nil {
		if co.skip > 0 {
			co.skip--
			return sampled{}, false
		}
		if co.e.cfg.Spawn != nil {
			return co.dump(), true
		}
		co.dumping = make(chan sampled, 1)
		go func(ch chan<- sampled) { ch <- co.dump() }(co.dumping)
	}
	wait := time.NewTimer(co.e.cfg.Interval / 2)
	defer wait.Stop()
	select {
	case r := <-co.dumping:
		co.dumping = nil
		return r, true
	case <-wait.C:
		return sampled{}, false
	}
}

// dump takes one socket sample.
func (co *coordinator) dump() sampled {
	t0 := time.Now()
	s, err := co.sampler.Sample(kernel.Filter{Remote: co.e.cfg.Target})
	return sampled{s: s, err: err, took: time.Since(t0)}
}

// A socket sample is a sock_diag dump of every socket toward the target:
// one message per socket, a million of them in a hold of a million
// connections, which takes seconds (over a hundred measured while the
// machine was busy opening them). The coordinator would fall behind the
// loops, whose reports then fill their channel and stop them. So a sample
// that took more than half the interval (in a hold, more than
// 1/sampleBudget of it: its dumps grow with every connection it holds,
// and walked 1-2 M sockets every second while it opened) is followed by
// as many intervals without one (at most maxSkip) as keep the sampling
// within 1/sampleBudget of the time; those intervals have no States (the progress
// line leaves the socket figures out). And the dump does not hold up the
// coordinator past half an interval (takeSample).
const (
	sampleBudget = 10
	maxSkip      = 3600
)

func occupancyBand(share float64) int {
	switch {
	case share < 0.5:
		return 0
	case share < 0.75:
		return 1
	case share < 0.9:
		return 2
	}
	return 3
}

func keyDelta(now, before kernel.Counters) map[string]int64 {
	d := now.Delta(before)
	out := map[string]int64{}
	for _, k := range kernel.KeyCounters {
		if v, ok := d[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (co *coordinator) kernelStats() *KernelStats {
	if !co.sampled && co.stats.Counters == nil {
		return nil
	}
	s := co.stats
	if !co.sampled {
		s.Scope, s.StatesAtStart = "", nil // no state figures to qualify
	}
	return &s
}

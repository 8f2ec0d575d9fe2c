package metrics

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/workloads"
	"github.com/prometheus/client_golang/prometheus"
)

// Buckets are the upper bounds, in seconds, of the phase histograms'
// buckets: 1, 2.5 and 5 per decade from 10 µs to 10 s, then 30 s and 60 s
// (+Inf is implied). Every generator uses the same, so that Prometheus can
// sum the buckets of a farm.
//
// The intervals carry HdrHistograms (1 ns to 1 h, 3 significant digits):
// each recorded value is known only to lie within its HdrHistogram bucket
// [from, to]. An HdrHistogram bucket is counted under a bound le only when
// its whole range is at most le, so each cumulative bucket count is exact
// for values that are not within 0.1% of a bound, and never counts a value
// above its bound: a value that close to a bound may be counted in the
// next bucket. _count is exact; _sum takes each value as its HdrHistogram
// bucket's midpoint (within 0.05% of the truth). Percentiles from
// histogram_quantile are interpolated within these buckets; the exact
// ones are in the run's JSON result.
var Buckets = []float64{
	10e-6, 25e-6, 50e-6,
	100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3,
	10e-3, 25e-3, 50e-3,
	100e-3, 250e-3, 500e-3,
	1, 2.5, 5,
	10, 30, 60,
}

// boundsNs are Buckets in nanoseconds.
var boundsNs = func() []int64 {
	b := make([]int64, len(Buckets))
	for i, s := range Buckets {
		b[i] = int64(math.Round(s * 1e9))
	}
	return b
}()

// failureClasses are served at 0 from a run's start, so that a rate over
// them needs no first sample; other classes appear when they happen.
var failureClasses = []string{dialer.FailRefused, dialer.FailTimedOut, dialer.FailAddrNotAvail, dialer.FailReset,
	dialer.FailConnectTimeout, dialer.FailResponseTimeout, dialer.FailEOF}

// Names of the metrics served (histograms add _bucket, _sum and _count).
const (
	nameConnections   = "connbench_connections_total"
	nameTransactions  = "connbench_transactions_total"
	nameBytesSent     = "connbench_bytes_sent_total"
	nameBytesReceived = "connbench_bytes_received_total"
	nameFailures      = "connbench_failures_total"
	nameIntervals     = "connbench_intervals_total"
	nameInflight      = "connbench_inflight"
	nameHeld          = "connbench_held_connections"
	nameSockets       = "connbench_sockets"
	namePorts         = "connbench_ports_in_use"
	nameRunning       = "connbench_running"
	nameWarmup        = "connbench_warmup"
	nameElapsed       = "connbench_elapsed_seconds"
	namePhase         = "connbench_phase_duration_seconds"
	nameFinished      = "connbench_finished"
	nameHistErrors    = "connbench_histogram_errors_total"
)

// Names lists the metric names served, as PromQL names them (a histogram
// by its _bucket, _sum and _count series).
func Names() []string {
	n := []string{nameConnections, nameTransactions, nameBytesSent, nameBytesReceived, nameFailures, nameIntervals,
		nameInflight, nameHeld, nameSockets, namePorts, nameRunning, nameWarmup, nameElapsed, nameFinished, nameHistErrors}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		n = append(n, namePhase+suf)
	}
	sort.Strings(n)
	return n
}

// collector holds the figures of a plan's runs and is the
// prometheus.Collector that serves them.
type collector struct {
	descs map[string]*prometheus.Desc

	mu       sync.Mutex
	order    []string // the runs' labels, in the order they start
	started  int      // runs started
	series   []*series
	byLabel  map[string]*series
	finished bool
	histErrs int64
}

// series is the figures of the runs of one variant label: counters and
// histograms (repetitions, and the processes of a --procs run, add to
// them), and the gauges of its streams.
type series struct {
	col     *collector
	variant string

	conns, tx, out, in, intervals int64
	failures                      map[string]int64
	phases                        map[string]*phaseHist
	streams                       []*stream
}

// stream is one workload run's intervals as they come: the run made here,
// or a child process's (several at once for --procs). Its gauges are the
// last interval's; a series serves the sum (or the max, or any) over its
// streams.
type stream struct {
	s               *series
	hold            bool
	inflight        int
	states          map[string]int // last sample; nil before one
	ports           int
	running, warmup bool
	elapsed         time.Duration
}

// phaseHist is one phase's histogram in Buckets: counts[i] values in
// bucket i (not cumulative), over the values above the last bound.
type phaseHist struct {
	counts []uint64
	over   uint64
	count  uint64
	sum    float64 // seconds
}

func newCollector(l Labels, order []string) *collector {
	c := &collector{order: order, byLabel: map[string]*series{}, descs: map[string]*prometheus.Desc{}}
	cl := prometheus.Labels{"segment": l.Segment, "run_id": l.RunID}
	v := []string{"variant"}
	for _, d := range []struct {
		name, help string
		labels     []string
	}{
		{nameConnections, "Connections opened (handshakes completed) in the measured part.", v},
		{nameTransactions, "Transactions (request and response) completed in the measured part.", v},
		{nameBytesSent, "Request bytes sent by completed transactions in the measured part.", v},
		{nameBytesReceived, "Response bytes received by completed transactions in the measured part.", v},
		{nameFailures, "Failures in the measured part, by class (errno name, or connect_timeout, response_timeout, eof).", append(v, "class")},
		{nameIntervals, "Measured intervals reported (--interval each), by every process of a --procs run.", v},
		{nameInflight, "Transactions in flight at the last interval's end.", v},
		{nameHeld, "hold: connections open or opening at the last interval's end.", v},
		{nameSockets, "This run's client sockets toward the target by TCP state at the last sample (time_wait: TIME_WAIT).", append(v, "state")},
		{namePorts, "Distinct local ports in use toward the target at the last sample.", v},
		{nameRunning, "1 while the run is going (warm-up included), 0 after it.", v},
		{nameWarmup, "1 while the last interval was in the warm-up (not measured).", v},
		{nameElapsed, "End of the last interval, in seconds from the start of the measured part (negative in the warm-up).", v},
		{namePhase, "Latency by phase in the measured part, from the intervals' HdrHistograms (a value within 0.1% of a bound may count in the next bucket).", append(v, "phase")},
		{nameFinished, "1 once every run of this process has ended: the figures are final.", nil},
		{nameHistErrors, "Interval histograms that could not be decoded (their values are missing from the phase histograms).", nil},
	} {
		c.descs[d.name] = prometheus.NewDesc(d.name, d.help, d.labels, cl)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, labels...)
	}
	counter := func(name string, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v), labels...)
	}
	gauge(nameFinished, b2f(c.finished))
	counter(nameHistErrors, c.histErrs)
	for _, s := range c.series {
		v := s.variant
		counter(nameConnections, s.conns, v)
		counter(nameTransactions, s.tx, v)
		counter(nameBytesSent, s.out, v)
		counter(nameBytesReceived, s.in, v)
		counter(nameIntervals, s.intervals, v)
		for class, n := range s.failures {
			counter(nameFailures, n, v, class)
		}
		var inflight, held, ports int
		var hold, sampled, running, warmup bool
		var elapsed time.Duration
		states := map[string]int{}
		for i, st := range s.streams {
			inflight += st.inflight
			if st.hold {
				hold, held = true, held+st.inflight
			}
			if st.states != nil {
				sampled, ports = true, ports+st.ports
				for k, n := range st.states {
					states[k] += n
				}
			}
			running = running || st.running
			warmup = warmup || (st.running && st.warmup)
			if i == 0 || st.elapsed > elapsed {
				elapsed = st.elapsed
			}
		}
		gauge(nameInflight, float64(inflight), v)
		if hold {
			gauge(nameHeld, float64(held), v)
		}
		if sampled {
			for state, n := range states {
				gauge(nameSockets, float64(n), v, state)
			}
			gauge(namePorts, float64(ports), v)
		}
		gauge(nameRunning, b2f(running), v)
		gauge(nameWarmup, b2f(warmup), v)
		gauge(nameElapsed, elapsed.Seconds(), v)
		for phase, h := range s.phases {
			cum := make(map[float64]uint64, len(Buckets))
			var n uint64
			for i, b := range Buckets {
				n += h.counts[i]
				cum[b] = n
			}
			ch <- prometheus.MustNewConstHistogram(c.descs[namePhase], h.count, h.sum, cum, v, phase)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// start begins a workload run made in this process: the next label of
// the plan's order (the workload's name past its end) names its series.
func (c *collector) start(cfg workloads.Config) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	label := cfg.Workload
	if c.started < len(c.order) {
		label = c.order[c.started]
	}
	c.started++
	return c.stream(label, cfg)
}

// startChild begins a workload run a child process makes for the variant
// label.
func (c *collector) startChild(label string, cfg workloads.Config) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stream(label, cfg)
}

// stream adds a stream to label's series, dropping the streams of its
// runs that have ended (an earlier repetition's gauges are not this
// one's). Called with c.mu held.
func (c *collector) stream(label string, cfg workloads.Config) *stream {
	s := c.byLabel[label]
	if s == nil {
		s = &series{col: c, variant: label, failures: map[string]int64{}, phases: map[string]*phaseHist{}}
		for _, class := range failureClasses {
			s.failures[class] = 0
		}
		c.byLabel[label] = s
		c.series = append(c.series, s)
	}
	keep := s.streams[:0]
	for _, st := range s.streams {
		if st.running {
			keep = append(keep, st)
		}
	}
	st := &stream{s: s, hold: cfg.Workload == "hold", running: true, warmup: cfg.Warmup > 0}
	s.streams = append(keep, st)
	return st
}

// interval adds iv to st's series: the gauges always, the counts and
// histograms when it is measured (the result document leaves the warm-up
// out).
func (st *stream) interval(iv workloads.Interval) {
	// Decoded before taking the lock: a scrape need not wait for it.
	type decoded struct {
		phase string
		bars  []histBar
	}
	var hists []decoded
	errs := int64(0)
	if !iv.Warmup {
		for phase, enc := range iv.Hists {
			bars, err := decodeBars(enc)
			if err != nil {
				errs++
				continue
			}
			hists = append(hists, decoded{phase, bars})
		}
	}
	s := st.s
	c := s.col
	c.mu.Lock()
	defer c.mu.Unlock()
	c.histErrs += errs
	st.inflight = iv.Inflight
	st.warmup = iv.Warmup
	st.elapsed = iv.End
	if iv.States != nil {
		// States holds the non-zero counts only: a state seen before and
		// absent now is at 0.
		next := map[string]int{"time_wait": 0, "established": 0}
		for k := range st.states {
			next[k] = 0
		}
		for k, n := range iv.States {
			next[k] = n
		}
		st.states, st.ports = next, iv.PortsInUse
	}
	if iv.Warmup {
		return
	}
	s.intervals++
	s.conns += iv.Connections
	s.tx += iv.Transactions
	s.out += iv.BytesSent
	s.in += iv.BytesReceived
	for class, n := range iv.Failures {
		s.failures[class] += n
	}
	for _, d := range hists {
		h := s.phases[d.phase]
		if h == nil {
			h = &phaseHist{counts: make([]uint64, len(Buckets))}
			s.phases[d.phase] = h
		}
		h.add(d.bars)
	}
}

// done ends st's run (it may come more than once).
func (st *stream) done() {
	st.s.col.mu.Lock()
	defer st.s.col.mu.Unlock()
	st.running = false
}

func (c *collector) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	for _, s := range c.series {
		for _, st := range s.streams {
			st.running = false
		}
	}
}

func (c *collector) isFinished() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finished
}

// histBar is an HdrHistogram bucket: count values within [from, to] ns.
type histBar struct {
	from, to, count int64
}

// The layout of package histogram's HdrHistograms (1 ns lowest, 3
// significant digits): 2048 sub-buckets, the first bucket holding 0..2047
// at 1 ns, each next one 1024 sub-buckets twice as wide as the last's.
const (
	subHalfMag = 10
	subHalf    = 1 << subHalfMag
)

// indexRange is the range of values [from, to] in ns that counts index
// idx of such a histogram holds.
func indexRange(idx int) (from, to int64) {
	if idx < 2*subHalf {
		return int64(idx), int64(idx)
	}
	bucket := idx>>subHalfMag - 1
	from = int64(idx&(subHalf-1)+subHalf) << bucket
	return from, from + 1<<bucket - 1
}

// decodeBars decodes an interval's histogram (HdrHistogram V2 base64,
// the geometry of package histogram, which Decode checks) into its
// non-empty buckets, in increasing order. It reads the counts array once
// (HdrHistogram's own Distribution makes a record of every bucket up to
// the largest value, which costs a coordinating goroutine milliseconds per
// phase and interval).
func decodeBars(enc string) ([]histBar, error) {
	rec, err := histogram.Decode(enc, 0)
	if err != nil {
		return nil, err
	}
	var bars []histBar
	for idx, n := range rec.Hist().Export().Counts {
		if n > 0 {
			from, to := indexRange(idx)
			bars = append(bars, histBar{from, to, n})
		}
	}
	return bars, nil
}

// BucketCounts are the cumulative counts, per Buckets bound, of the values
// an HdrHistogram (V2 base64, the geometry of package histogram) holds, by
// the rule Buckets states; with the total count. The endpoint's phase
// histograms are the sums of their intervals' BucketCounts.
func BucketCounts(enc string) (cum []uint64, count uint64, err error) {
	bars, err := decodeBars(enc)
	if err != nil {
		return nil, 0, err
	}
	h := phaseHist{counts: make([]uint64, len(Buckets))}
	h.add(bars)
	var n uint64
	for _, c := range h.counts {
		n += c
		cum = append(cum, n)
	}
	return cum, h.count, nil
}

// add counts bars into h: each in the first bucket whose bound is at
// least its highest value.
func (h *phaseHist) add(bars []histBar) {
	for _, b := range bars {
		n := uint64(b.count)
		i := sort.Search(len(boundsNs), func(i int) bool { return boundsNs[i] >= b.to })
		if i < len(boundsNs) {
			h.counts[i] += n
		} else {
			h.over += n
		}
		h.count += n
		h.sum += float64(b.count) * (float64(b.from) + float64(b.to)) / 2 / 1e9
	}
}

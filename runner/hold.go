package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
	"golang.org/x/sys/unix"
)

// connsNeeded is the most connections the run holds open at once, and the
// flag that sets it, for descriptor and process planning.
func (s *Spec) connsNeeded() (int, string) {
	switch {
	case s.Workload == "hold":
		return int(s.Requests), fmt.Sprintf("-n %d", s.Requests)
	case s.Rate.IsSet() && s.Workload != "pooled":
		return s.MaxInflight, fmt.Sprintf("--max-inflight %d", s.MaxInflight)
	}
	return s.Concurrency, fmt.Sprintf("--concurrency %d", s.Concurrency)
}

// spreadSources gives a hold run toward a loopback target as many loopback
// source addresses as its connections need (one source address gives one
// connection per ephemeral port toward one destination), unless --source
// was given. It returns what it did, for the user, or "".
func (s *Spec) spreadSources(target netip.AddrPort, ports int) string {
	if s.Workload != "hold" || s.Source.Text != "" || ports <= 0 {
		return ""
	}
	if target.IsValid() && !(target.Addr().Is4() && target.Addr().IsLoopback()) {
		return ""
	}
	// Fill each source's range to a quarter at most. connect() tries the
	// even ports first (bind() takes the odd ones), from a start that
	// moves on by a small random step after each connection: a hold,
	// which frees no port, fills a source's even ports in one sweep, and
	// once they are nearly all taken every connect() walks the whole even
	// half of the range before it finds a port (measured: ~10 ms per
	// connect() at 99.8% of the even ports, the opening of a million
	// stalled). Half the even ports keeps the walk a few ports long;
	// loopback addresses cost nothing, and other programs use ports too.
	per := int64(ports) / 4
	n := (s.Requests + per - 1) / per
	if n <= 1 {
		return ""
	}
	if n > 65000 {
		n = 65000
	}
	// 127.0.1.0 and up: any 127/8 address is local on lo.
	a := netip.AddrFrom4([4]byte{127, 0, 1, 1})
	s.Source = sourceRange(a, int(n))
	return fmt.Sprintf("-n %d needs more than a quarter of the %d ports one source address has toward one destination: spreading over %d loopback sources, each at most a quarter full (--source %s)",
		s.Requests, ports, n, s.Source)
}

// holdMeter follows a hold run's memory: the process's resident set and
// the kernel's TCP figures, at the start and at their peak.
type holdMeter struct {
	mu                      sync.Mutex
	rss0, rssReady, rssPeak int64
	slab0, slabPeak         int64 // -1: unreadable
	peakInUse, memAtPeak    int64
	curve                   [][2]int64 // (connections open, resident set) per interval
	kernelToo               bool
}

// newHoldMeter starts the meter; kernelToo reads the kernel's figures as
// well (one process of a --procs run does, for all).
func newHoldMeter(kernelToo bool) *holdMeter {
	m := &holdMeter{slab0: -1, slabPeak: -1, kernelToo: kernelToo}
	m.rss0 = liveRSS()
	m.rssPeak = m.rss0
	if !kernelToo {
		return m
	}
	if b, err := tcpSlabActive(); err == nil {
		m.slab0, m.slabPeak = b, b
	}
	return m
}

// ready reads the resident set once the run's fixed allocations are made
// (slots, recorders), before any connection.
func (m *holdMeter) ready() {
	rss := liveRSS()
	m.mu.Lock()
	m.rssReady = max(rss, m.rss0)
	m.rssPeak = max(m.rssPeak, m.rssReady)
	m.mu.Unlock()
}

// sample takes one reading; called once per interval and at the end of the
// hold (before the connections are closed).
func (m *holdMeter) sample(open int) {
	rss := liveRSS()
	var s kernel.Sockstat
	serr := errors.New("not read")
	if m.kernelToo {
		s, serr = kernel.ReadSockstat("")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rssPeak = max(m.rssPeak, rss)
	if rss > 0 {
		m.curve = append(m.curve, [2]int64{int64(open), rss})
	}
	if serr == nil && s.TCPInUse >= m.peakInUse {
		m.peakInUse = s.TCPInUse
		m.memAtPeak = s.TCPMemBytes()
		if m.slab0 >= 0 {
			if b, err := tcpSlabActive(); err == nil {
				m.slabPeak = max(m.slabPeak, b)
			}
		}
	}
}

// record makes the result's hold record.
func (m *holdMeter) record(h *workloads.HoldStats, sources int, listenerHere bool) *results.Hold {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &results.Hold{Asked: h.Asked, Opened: h.Opened, Held: h.Held, OpenNs: int64(h.OpenTime),
		RSSGrowthBytes: max(m.rssPeak-m.rss0, 0), ListenerInProcess: listenerHere,
		KernelSlabBytes: -1, KernelTCPMemBytes: m.memAtPeak, PeakTCPInUse: m.peakInUse, Sources: max(sources, 1)}
	if m.slab0 >= 0 {
		r.KernelSlabBytes = max(m.slabPeak-m.slab0, 0)
	}
	if m.rssReady > 0 {
		r.FixedBytes = m.rssReady - m.rss0
	}
	if h.Opened > 0 {
		// The slots were allocated and touched up front for all -n: count
		// them per connection, plus what grew with each connection opened:
		// the slope of the resident set over the connections open, when
		// the opening spanned enough intervals to fit one (the first
		// intervals also allocate the run's interval recorders, which a
		// plain growth/connections would charge to the connections);
		// else all the growth after the fixed allocations.
		grown := float64(max(m.rssPeak-max(m.rssReady, m.rss0), 0)) / float64(h.Opened)
		if sl, ok := slope(m.curve, h.Asked); ok {
			grown, r.PerConnMethod = max(sl, 0), "slope"
		} else {
			r.PerConnMethod = "growth"
		}
		r.UserBytesPerConn = float64(workloads.SlotBytes) + grown
	}
	return r
}

// slope fits resident set = a + b × connections open by least squares over
// the intervals while connections were being opened (up to the first at
// the peak), leaving out the first interval, and returns b. It needs four
// such intervals spanning at least a fifth of asked.
func slope(curve [][2]int64, asked int64) (float64, bool) {
	end := 0
	for i, c := range curve {
		if c[0] > curve[end][0] {
			end = i
		}
	}
	if end < 4 {
		return 0, false
	}
	pts := curve[1 : end+1]
	if pts[len(pts)-1][0]-pts[0][0] < asked/5 {
		return 0, false
	}
	var n, sx, sy, sxx, sxy float64
	for _, p := range pts {
		x, y := float64(p[0]), float64(p[1])
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, false
	}
	return (n*sxy - sx*sy) / d, true
}

// liveRSS returns the resident set after a garbage collection that returns
// freed memory to the kernel: without it, the resident set follows the
// garbage collector's pacing (the heap may grow to twice what is live
// before a collection), not what the connections need. The collection
// stops the world for well under a millisecond with connbench's small heap;
// the hold workload takes that once per interval.
func liveRSS() int64 {
	debug.FreeOSMemory()
	rss, _ := kernel.ProcessRSS()
	return rss
}

// holdBarrier makes the processes of a hold split over processes hold
// their connections at the same time: each process's hold (its Duration)
// starts when every process has opened its share, not when its own share
// is open. Without it a process that opened its share early closed it
// while others were still opening, and the run never held -n connections
// at once. Each child writes a byte to a shared pipe (its descriptor 3)
// once its share is resolved, and waits for end-of-file on another (its
// descriptor 4), which the parent closes once it has read a byte from
// every child, or once every child has ended, or when the run is stopped.
type holdBarrier struct {
	openedR, openedW   *os.File
	releaseR, releaseW *os.File
	once               sync.Once
	stop               func() bool
}

func newHoldBarrier() (*holdBarrier, error) {
	b := &holdBarrier{}
	var err error
	if b.openedR, b.openedW, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("hold barrier: %w", err)
	}
	if b.releaseR, b.releaseW, err = os.Pipe(); err != nil {
		b.openedR.Close()
		b.openedW.Close()
		return nil, fmt.Errorf("hold barrier: %w", err)
	}
	return b, nil
}

// childFiles are a child's descriptors 3 and 4.
func (b *holdBarrier) childFiles() []*os.File { return []*os.File{b.openedW, b.releaseR} }

// start closes the parent's copies of the children's ends (so that the
// opened pipe reads end-of-file once every child has ended) and releases
// the holds once n children reported, all ended, or ctx is done.
func (b *holdBarrier) start(ctx context.Context, n int) {
	b.openedW.Close()
	b.releaseR.Close()
	b.stop = context.AfterFunc(ctx, b.release)
	go func() {
		buf := make([]byte, 64)
		for got := 0; got < n; {
			k, err := b.openedR.Read(buf)
			got += k
			if err != nil {
				break
			}
		}
		b.release()
	}()
}

func (b *holdBarrier) release() { b.once.Do(func() { b.releaseW.Close() }) }

// close releases the holds and closes the parent's ends.
func (b *holdBarrier) close() {
	if b.stop != nil {
		b.stop()
	}
	b.release()
	b.openedR.Close()
}

// childHoldRelease is a child's side of the hold barrier: a function that
// reports this process's share resolved and returns once the parent
// releases the hold. Descriptors 3 and 4 must be the pipes a connbench
// parent passed.
func childHoldRelease() (func(), error) {
	opened, release := os.NewFile(3, "hold-opened"), os.NewFile(4, "hold-release")
	for _, f := range []*os.File{opened, release} {
		if f == nil {
			return nil, errors.New("child request: hold_sync without the parent's pipes")
		}
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			return nil, errors.New("child request: hold_sync: descriptors 3 and 4 are not the parent's pipes")
		}
	}
	return func() {
		opened.Write([]byte{1})
		opened.Close()
		var b [1]byte
		release.Read(b[:]) // end-of-file: released
		release.Close()
	}, nil
}

// rssMeter follows the summed resident set of child processes (the
// built-in listener's, in a run split over processes) from now to its
// peak, reading it once per interval.
type rssMeter struct {
	pids       []int
	base, peak int64
	stop, done chan struct{}
}

func startRSSMeter(cs []*child, every time.Duration) *rssMeter {
	m := &rssMeter{stop: make(chan struct{}), done: make(chan struct{})}
	for _, c := range cs {
		m.pids = append(m.pids, c.cmd.Process.Pid)
	}
	m.base = m.read()
	m.peak = m.base
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.peak = max(m.peak, m.read())
			}
		}
	}()
	return m
}

// read sums the processes' resident sets (a process gone counts 0).
func (m *rssMeter) read() int64 {
	var sum int64
	for _, pid := range m.pids {
		if r, err := kernel.ReadRSS(pid); err == nil {
			sum += r
		}
	}
	return sum
}

// finish stops the meter and returns the growth from start to peak.
func (m *rssMeter) finish() int64 {
	close(m.stop)
	<-m.done
	return max(m.peak-m.base, 0)
}

// writeHeapProfile writes the Go heap profile (in use) to path through
// the safe writer. The profile is as of the last garbage collection: for a
// hold (held), the hold meter's last reading, taken while every connection
// was held; for other runs a collection is made first.
func writeHeapProfile(path string, held bool) error {
	if !held {
		runtime.GC()
	}
	return results.WriteAtomic(path, func(w io.Writer) error { return pprof.Lookup("heap").WriteTo(w, 0) })
}

// tcpSlabActive is the bytes of TCP socket objects in use in the kernel's
// slab caches (all namespaces; both ends of loopback connections).
func tcpSlabActive() (int64, error) {
	s, err := kernel.ReadSlabinfo("")
	if err != nil {
		return 0, err
	}
	return s.ActiveBytes(kernel.TCPSlabCaches...), nil
}

// raiseLimits is --raise-limits: as root, lift fs.nr_open and the hard
// RLIMIT_NOFILE to what the run needs (need descriptors). It returns what
// it did, or which limit stopped it and why: raising the hard limit needs
// CAP_SYS_RESOURCE, which root in a container often lacks.
func raiseLimits(need uint64) (string, error) {
	soft, hard, err := kernel.RaiseOpenFileLimit()
	if err == nil && soft >= need {
		return "", nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("--raise-limits: needs root (the open-file limit is %d, the run needs about %d descriptors); or use --procs auto", hard, need)
	}
	old, err := kernel.RaiseNrOpen(int64(need))
	if err != nil {
		return "", fmt.Errorf("--raise-limits: fs.nr_open: %w", err)
	}
	// fs.nr_open is host-wide and only bounds setrlimit: put it back as
	// soon as this process's limit is set (or could not be), so the run
	// leaves the host as it found it.
	restore := func() error {
		if old < int64(need) {
			return kernel.WriteSysctl("", "fs.nr_open", strconv.FormatInt(old, 10))
		}
		return nil
	}
	lim := unix.Rlimit{Cur: need, Max: need}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		msg := fmt.Sprintf("--raise-limits: the hard open-file limit %d cannot be raised to %d (%v: it takes CAP_SYS_RESOURCE, which this root lacks, as in many containers); --procs auto splits the run over processes instead", hard, need, err)
		if rerr := restore(); rerr != nil {
			msg += fmt.Sprintf("; and fs.nr_open could not be put back to %d: %v", old, rerr)
		}
		return "", errors.New(msg)
	}
	msg := fmt.Sprintf("--raise-limits: open-file limit raised to %d", need)
	if old < int64(need) {
		msg += fmt.Sprintf(" (fs.nr_open raised from %d for the setrlimit, then put back)", old)
		if err := restore(); err != nil {
			msg += fmt.Sprintf("; putting fs.nr_open back to %d failed: %v", old, err)
		}
	}
	return msg, nil
}

// holdDefaults makes a hold's close a reset (SO_LINGER 0) unless --close
// was given: the end of a hold closes every connection at once, and a
// graceful close would leave one TIME_WAIT socket per connection (up to
// net.ipv4.tcp_max_tw_buckets) holding its port for 60 s, for the next run
// to trip on. --close fin keeps the graceful close. It may be called more
// than once.
func (s *Spec) holdDefaults() {
	if s.Workload == "hold" && !s.changed("close") {
		s.Close, s.close = dialer.CloseRST.String(), dialer.CloseRST
	}
}

// closeSettle bounds how long timeWaitLeft waits for graceful closes to
// finish their exchange (FIN, ACK, the peer's FIN) before it counts.
const closeSettle = 2 * time.Second

// timeWaitLeft counts this namespace's client sockets toward target left
// in TIME_WAIT once the closes at the end of a run settled: it samples, up
// to closeSettle, until none toward target is in FIN_WAIT1, FIN_WAIT2 or
// CLOSING and two samples in a row agree on TIME_WAIT. -1 when sock_diag
// cannot count them.
func timeWaitLeft(target netip.AddrPort) int64 {
	s, err := kernel.NewSampler()
	if err != nil {
		return -1
	}
	defer s.Close()
	f := kernel.Filter{Remote: target, States: kernel.MaskOf(kernel.StateFinWait1, kernel.StateFinWait2, kernel.StateClosing, kernel.StateTimeWait)}
	deadline := time.Now().Add(closeSettle)
	last := -1
	for {
		smp, err := s.Sample(f)
		if err != nil {
			return -1
		}
		tw := smp.States[kernel.StateTimeWait]
		closing := smp.States.Total() - tw
		if (closing == 0 && tw == last) || time.Now().After(deadline) {
			return int64(tw)
		}
		last = tw
		time.Sleep(20 * time.Millisecond) // the peers' FINs are on their way
	}
}

// holdRates makes a hold run's new connections per second the rate at
// which they opened: over the time to open, not the whole run, whose
// hold part opens none.
func holdRates(r *results.Run) {
	if h := r.Hold; h != nil && h.OpenNs > 0 {
		r.Rates.ConnsPerSec = float64(h.Opened) / (float64(h.OpenNs) / 1e9)
	}
}

// sizeBacklog sizes the built-in listener's accept queue for the rate it
// is offered (listener.BacklogFor: a second of arrivals, capped at
// net.core.somaxconn), unless --backlog was given. With SO_REUSEPORT each
// loop's socket has a queue of its own and takes its share of the rate.
// It returns a note when somaxconn is what limits the queue, or "".
func (s *Spec) sizeBacklog(lc *listener.Config, sysctls map[string]string) string {
	if s.Backlog != 0 || !s.Rate.IsSet() { // given, or set by an experiment (backlog, synflood)
		return ""
	}
	somaxconn, _ := strconv.Atoi(sysctls["net.core.somaxconn"])
	rate := max(s.Rate.Start, s.Rate.End)
	if lc.ReusePort && lc.Loops > 1 {
		rate /= float64(lc.Loops)
	}
	var limited bool
	lc.Backlog, limited = listener.BacklogFor(rate, somaxconn)
	if !limited {
		return ""
	}
	return somaxconnNote(rate, somaxconn)
}

// somaxconnNote says that net.core.somaxconn caps an accept queue below
// a second of arrivals at rate per second.
func somaxconnNote(rate float64, somaxconn int) string {
	want := int(math.Ceil(rate * listener.AcceptQueueTime.Seconds()))
	return fmt.Sprintf("the built-in listener's accept queue is %d (net.core.somaxconn caps listen()'s backlog), below the %d a second of arrivals at %.6g/s per listening socket would want: a loop that falls behind that long overflows it (SYNs dropped, TcpExt.ListenOverflows); sysctl -w net.core.somaxconn=%d makes room",
		somaxconn, want, rate, want)
}

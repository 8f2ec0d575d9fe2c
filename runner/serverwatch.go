package runner

import (
	"net/netip"
	"sync"

	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

// serverWatch follows the built-in listener's side of a run once per
// interval: its sockets by TCP state (SYN_RECV under a SYN flood or a full
// backlog, CLOSE_WAIT with --leak) and the descriptors it holds; and, when
// the listener has a network namespace of its own, that namespace's
// counters (SyncookiesSent, ListenDrops...).
type serverWatch struct {
	ln      *listener.Listener
	addr    netip.AddrPort
	do      func(func() error) error // runs f in the listener's namespace
	sampler *kernel.Sampler
	before  kernel.Counters

	mu      sync.Mutex
	samples map[int]serverSample
	peak    map[string]int
	peakFD  int64
}

type serverSample struct {
	states map[string]int
	fds    int64
}

// newServerWatch starts watching; do is nil when the listener shares the
// client's namespace.
func newServerWatch(ln *listener.Listener, do func(func() error) error) *serverWatch {
	w := &serverWatch{ln: ln, addr: ln.Addr(), do: do, samples: map[int]serverSample{}, peak: map[string]int{}}
	if w.do == nil {
		w.do = func(f func() error) error { return f() }
	}
	w.do(func() error {
		s, err := kernel.NewSampler()
		if err == nil {
			w.sampler = s
		}
		if do != nil {
			w.before, _ = kernel.ReadCounters("/proc/thread-self")
		}
		return nil
	})
	return w
}

// interval takes the sample for interval iv.
func (w *serverWatch) interval(iv workloads.Interval) {
	var st map[string]int
	if w.sampler != nil {
		if s, err := w.sampler.Sample(kernel.Filter{Local: w.addr}); err == nil {
			st = s.States.Map()
		}
	}
	fds := w.ln.Stats().Descriptors
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples[iv.Index] = serverSample{states: st, fds: fds}
	for k, v := range st {
		w.peak[k] = max(w.peak[k], v)
	}
	w.peakFD = max(w.peakFD, fds)
}

// finish stops the watch and adds what it saw to run (its Listener record
// and series).
func (w *serverWatch) finish(run *results.Run, series []workloads.Interval) {
	var after kernel.Counters
	w.do(func() error {
		if w.before != nil {
			after, _ = kernel.ReadCounters("/proc/thread-self")
		}
		if w.sampler != nil {
			w.sampler.Close()
		}
		return nil
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := run.Listener; l != nil {
		if len(w.peak) > 0 {
			l.PeakStates = w.peak
		}
		l.PeakDescriptors = w.peakFD
		if after != nil {
			d := after.Delta(w.before)
			l.Counters = map[string]int64{}
			for _, k := range kernel.KeyCounters {
				if v, ok := d[k]; ok && v != 0 {
					l.Counters[k] = v
				}
			}
		}
	}
	for i, iv := range series {
		if s, ok := w.samples[iv.Index]; ok && i < len(run.Series) {
			run.Series[i].ServerStates = s.states
			run.Series[i].ServerDescriptors = s.fds
		}
	}
}

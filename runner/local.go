package runner

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/explain"
	"github.com/connbench/connbench/flood"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

// measure makes one run in this process, against target or, when target is
// the zero value, against a built-in listener started for the run. It reads
// top to bottom: set up the target, configure the workload, start what
// watches it, execute it, collect the result. It returns the run and
// whether it was stopped before its end.
func measure(ctx context.Context, s *Spec, target netip.AddrPort, sysctls map[string]string, obs Observer) (results.Run, bool, error) {
	t, err := setUp(s, target, sysctls, obs)
	if err != nil {
		return results.Run{}, false, err
	}
	defer t.tearDown()
	cfg, facts, pred := t.workload(s, sysctls, obs)
	if s.HoldSync && cfg.Workload == "hold" {
		if cfg.HoldRelease, err = childHoldRelease(); err != nil {
			return results.Run{}, false, err
		}
	}
	w, err := t.watch(ctx, s, &cfg, obs)
	if err != nil {
		return results.Run{}, false, err
	}
	defer w.stop()
	obs.Say("%s against %s, %s, %s", cfg.Workload, describeTarget(t.target, t.builtin), describeLoad(cfg), describeLength(cfg))
	if pred != nil {
		obs.Say("prediction: %s", pred.Text)
	}
	res, err := workloads.Run(ctx, cfg)
	w.live.Done()
	if s.MemProfile != "" {
		if perr := writeHeapProfile(s.MemProfile, cfg.Workload == "hold"); perr != nil {
			obs.Warn("warning: --memprofile: %v", perr)
		}
	}
	if err != nil {
		if res == nil {
			return results.Run{}, false, err
		}
		obs.Warn("warning: %v", err)
	}
	run := w.collect(res, t, s, facts, pred)
	run.Notes = append(explain.Notes(&run, explain.Context{Config: res.Config, Sysctls: sysctls, Builtin: t.builtin, Prediction: pred, CPUs: runtime.NumCPU()}), run.Notes...)
	return run, res.Partial, nil
}

// target is where a run's connections go: an external server, or the
// built-in listener this run started (over an emulated path or not).
type target struct {
	target  netip.AddrPort
	builtin bool
	ln      *listener.Listener // nil against an external server
	em      *emulated          // nil without an emulated path
	note    string             // what limited the built-in listener's accept queue, or ""
}

// setUp starts the built-in listener (inside the emulated path when there
// is one) and checks what Fast Open needs.
func setUp(s *Spec, addr netip.AddrPort, sysctls map[string]string, obs Observer) (*target, error) {
	t := &target{target: addr, builtin: !addr.IsValid()}
	if err := s.prepareTLS(t.builtin); err != nil {
		return nil, err
	}
	if s.pathCfg != nil && !t.builtin {
		return nil, fmt.Errorf("the emulated path (--rtt, --loss, --drop-syn, ...) joins the client and the built-in listener in namespaces of their own; it cannot shape the path to %s", addr)
	}
	if t.builtin {
		// Client and listener share the CPUs: give each half of them,
		// rather than two threads per CPU that the kernel must switch.
		half := max(1, runtime.NumCPU()/2)
		if s.Loops == 0 {
			s.Loops = half
		}
		if s.ListenerLoops == 0 {
			s.ListenerLoops = half
		}
		var err error
		if s.pathCfg != nil {
			t.em, t.ln, err = startPath(*s.pathCfg, pathSysctls(sysctls, s.VariedSysctls), s.ListenerConfig(), s.foMode != dialer.FastOpenOff, obs)
		} else {
			lc := s.ListenerConfig()
			lc.Spin = listenerSpin(s, lc.Loops)
			if s.Workload == "hold" && lc.Loops > 1 && !s.changed("reuseport") && !s.TLS {
				// A listening socket per loop: the kernel spreads the
				// handshakes over them, each with its own accept queue.
				lc.ReusePort = true
			}
			t.note = s.sizeBacklog(&lc, sysctls)
			if t.note != "" {
				obs.Say("%s", t.note)
			}
			t.ln, err = listener.Start(lc)
		}
		if err != nil {
			return nil, err
		}
		t.target = t.ln.Addr()
	}
	if s.foMode != dialer.FastOpenOff && t.em == nil {
		warn, err := fastOpenBits(sysctls, t.builtin)
		if err != nil {
			t.tearDown()
			return nil, err
		}
		if warn != "" {
			obs.Warn("warning: %s", warn)
		}
	}
	return t, nil
}

// tearDown closes the listener, then the path.
func (t *target) tearDown() {
	if t.ln != nil {
		t.ln.Close()
	}
	if t.em != nil {
		t.em.close()
	}
}

// workload is the workload configuration of this run toward t, what decides
// port exhaustion toward it, and the exhaustion prediction for an open-loop
// run of new connections (nil for others).
func (t *target) workload(s *Spec, sysctls map[string]string, obs Observer) (workloads.Config, workloads.PortFacts, *workloads.Prediction) {
	s.holdDefaults()
	ensureProcs(s, t.builtin)
	facts := portFacts(sysctls, s, t.target)
	if note := s.spreadSources(t.target, facts.Ports); note != "" {
		obs.Say("%s", note)
		facts.Sources = len(s.Source.Addrs) // spread over loopback sources
	}
	cfg := s.Config(s.Workload, t.target)
	cfg.PortRange = facts.Ports
	if note := spinGuard(&cfg, s, t); note != "" {
		obs.Say("%s", note)
	}
	if t.em != nil {
		cfg.Spawn = t.em.spawn
		cfg.TCPInfo = true
	}
	if s.Workload == "backlog" {
		cfg.TCPInfo = true
	}
	var pred *workloads.Prediction
	if cfg.Rate > 0 && !workloads.Registry[cfg.Workload].Persistent {
		p := workloads.PredictExhaustion(facts, max(cfg.Rate, cfg.RateEnd), cfg.Socket.Close == dialer.CloseRST)
		pred = &p
	}
	return cfg, facts, pred
}

// spinGuard turns the default --spin off when the run's own threads
// outnumber the CPUs: a loop that polls then holds a CPU the thread that
// would answer it needs (measured, 2 client loops and 1 listener loop on
// 2 CPUs: 10,000-15,000 connect-only connections/s spinning against
// 19,000-34,000 not). A --spin given on the command line is kept. It
// returns the line that says so, or "".
func spinGuard(cfg *workloads.Config, s *Spec, t *target) string {
	if cfg.Spin == 0 || s.changed("spin") {
		return ""
	}
	lnLoops := 0
	if t.ln != nil {
		lnLoops = t.ln.Config().Loops
	}
	threads, cpus := processLoops(cfg.Loops, lnLoops), runtime.NumCPU()
	if threads <= cpus {
		return ""
	}
	cfg.Spin = 0
	return fmt.Sprintf("no polling before sleeps (--spin 0): %d event loops in this process for %d CPUs", threads, cpus)
}

// listenerSpin is how long the run's built-in listener polls before it
// sleeps: --spin, as the client's loops do, when the run's event loops
// (client and listener) fit the CPUs, so that each polls on a CPU of its
// own; else 0 (see spinGuard). A listener loop that is awake when a
// connection or request arrives spares the client the wake-up in its own
// system call (measured against serve: connect-only 8-14% and per-request
// RST 5-17% more connections/s, 5 paired rounds).
func listenerSpin(s *Spec, listenerLoops int) time.Duration {
	if processLoops(s.Loops, listenerLoops) > runtime.NumCPU() {
		return 0
	}
	return s.Spin
}

// processLoops counts the event loops a run's process holds: its client
// loops (0: one per CPU, workloads.Config's default) and its built-in
// listener's. Polling before sleeps is on only while they fit the CPUs.
func processLoops(client, listener int) int {
	if client == 0 {
		client = runtime.NumCPU()
	}
	return client + listener
}

// watchers follow a run while it goes: progress, the hold meter, the
// listener's side, the flood; and take the before-figures when the
// measured part starts.
type watchers struct {
	live Live
	hold *holdMeter
	sw   *serverWatch
	fl   *flood.Flooder
	stop func() // stops the flood and the stop message

	mu       sync.Mutex
	before   listener.Stats
	pu0, ps0 time.Duration
}

// watch starts the watchers of a run of cfg toward t and hooks them into
// cfg's callbacks.
func (t *target) watch(ctx context.Context, s *Spec, cfg *workloads.Config, obs Observer) (*watchers, error) {
	w := &watchers{live: obs.Live(*cfg)}
	var stops []func()
	w.stop = func() {
		for _, f := range stops {
			f()
		}
	}
	if cfg.Workload == "synflood" {
		length := cfg.Warmup + cfg.Duration + 10*time.Second
		if cfg.Duration == 0 {
			length = cfg.Warmup + time.Minute // -n runs: a bound all the same
		}
		var err error
		if w.fl, err = startFlood(t.em, t.target, s.FloodRate, length); err != nil {
			return nil, err
		}
		stops = append(stops, w.fl.Stop)
		obs.Say("flooding %s with %g spoofed SYNs/s from %s", t.target, s.FloodRate, flood.Range)
	}
	if cfg.Workload == "hold" {
		w.hold = newHoldMeter(!s.NoSample)
		cfg.OnReady = w.hold.ready
	}
	if t.ln != nil && !s.NoSample {
		var do func(func() error) error
		if t.em != nil {
			do = t.em.path.Server.Do
		}
		w.sw = newServerWatch(t.ln, do)
	}
	cfg.OnInterval = func(iv workloads.Interval) {
		if w.hold != nil {
			w.hold.sample(iv.Inflight)
		}
		if w.sw != nil {
			w.sw.interval(iv)
		}
		w.live.Interval(iv)
	}
	cfg.OnMeasure = func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if t.ln != nil {
			w.before = t.ln.Stats()
		}
		w.pu0, w.ps0 = kernel.ProcessCPU()
	}
	cfg.HardStop = hardStop(ctx)
	stopMsg := context.AfterFunc(ctx, func() {
		w.live.Done()
		obs.Say("stopping: no new work; waiting up to %s for what is in flight (Ctrl-C again to stop now)", drainGrace)
	})
	stops = append(stops, func() { stopMsg() })
	return w, nil
}

// collect makes the run record of res: the workload's figures, the process
// CPU and the listener's side over the measured part, the kernel, the
// path, the hold and the flood.
func (w *watchers) collect(res *workloads.Result, t *target, s *Spec, facts workloads.PortFacts, pred *workloads.Prediction) results.Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	pu1, ps1 := kernel.ProcessCPU()
	run := toRun(res, res.Config.Workload, t.builtin)
	run.CPU.ProcessUserNs, run.CPU.ProcessSysNs = int64(pu1-w.pu0), int64(ps1-w.ps0)
	if t.ln != nil {
		run.Listener = listenerDelta(t.ln, w.before)
		if w.sw != nil {
			w.sw.finish(&run, res.Series)
		}
	}
	if run.Kernel != nil {
		run.Kernel.PortRangeSize, run.Kernel.Sources = facts.Ports, max(facts.Sources, 1)
	}
	if pred != nil || res.FirstAddrNotAvail >= 0 || res.Exhausted || res.Stall > 0 {
		run.Exhaustion = &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: int64(res.FirstAddrNotAvail),
			Stopped: res.Exhausted, StoppedBy: res.StoppedBy}
		if res.Stall > 0 {
			run.Exhaustion.StallNs = int64(res.Stall)
		}
		if pred != nil {
			run.Exhaustion.PredictedNs, run.Exhaustion.Prediction = int64(pred.At), pred.Text
			if pred.StallAt > 0 {
				run.Exhaustion.PredictedStallNs = int64(pred.StallAt)
			}
		}
	}
	if t.em != nil {
		run.Path = t.em.record()
	}
	run.TLS = tlsRecord(res, s, t.builtin, float64(s.RTT))
	if res.TLS != nil {
		tlsClientCPU(&run, t.em != nil)
	}
	if w.hold != nil && res.Hold != nil {
		run.Hold = w.hold.record(res.Hold, len(res.Config.Socket.Sources), t.ln != nil)
		if res.TLS != nil {
			// The TLS path allocates nothing per connection up front (the
			// engine's slots): all of it is in the growth.
			run.Hold.UserBytesPerConn = max(run.Hold.UserBytesPerConn-float64(workloads.SlotBytes), 0)
		}
		run.Hold.Close, run.Hold.TimeWaitLeft = res.Config.Socket.Close.String(), -1
		if !s.NoSample {
			run.Hold.TimeWaitLeft = timeWaitLeft(t.target)
		}
		holdRates(&run)
	}
	if t.note != "" {
		run.Notes = append(run.Notes, t.note)
	}
	if w.fl != nil {
		w.fl.Stop()
		run.Flood = floodRecord(w.fl, s.FloodRate)
	}
	return run
}

// tlsClientCPU sets a TLS-path run's client CPU. Its workers are not
// pinned to threads (each wait on the network would be a thread switch),
// so no thread clock holds the client's time: it is the process's less
// the in-process built-in listener's (which times its own work), Go's
// poller, scheduler and collector included. With an emulated path in the
// process too, the client cannot be told apart: its CPU is left at 0
// (the handshakes' own CPU, timed on a locked thread, stays).
func tlsClientCPU(run *results.Run, emulated bool) {
	c := &run.CPU
	c.UserNs, c.SysNs, c.ThreadNs, c.UserNsPerConn, c.UserNsPerTransaction = 0, 0, 0, 0, 0
	if emulated {
		return
	}
	u, sys := c.ProcessUserNs, c.ProcessSysNs
	if l := run.Listener; l != nil {
		u, sys = u-l.CPUUserNs, sys-l.CPUSysNs
	}
	c.UserNs, c.SysNs = max(u, 0), max(sys, 0)
	c.ThreadNs = c.UserNs + c.SysNs
	if n := run.Counts.Connections; n > 0 {
		c.UserNsPerConn = float64(c.UserNs) / float64(n)
	}
	if n := run.Counts.Transactions; n > 0 {
		c.UserNsPerTransaction = float64(c.UserNs) / float64(n)
	}
}

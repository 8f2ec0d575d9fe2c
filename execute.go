package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/explain"
	"github.com/connbench/connbench/flood"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/workloads"
)

// variant is one configuration of a plan: the run flags it was made with
// and what it varies.
type variant struct {
	label    string
	settings [][2]string       // the varied keys and values, as given to --vary
	args     []string          // the run flags of this variant
	opts     *runOptions       // parsed and validated
	sysctls  map[string]string // its sysctl: settings
}

// plan is a set of runs: each variant, repeat times, interleaved (A B A B),
// in this process or each in a fresh network namespace.
type plan struct {
	target   netip.AddrPort // zero: the built-in listener
	variants []variant
	repeat   int
	isolate  bool         // each run in a fresh network namespace
	host     *hostSysctls // sysctl variants applied on the host (external target)
	output   string
	quiet    bool
	child    bool // a run made for a parent connbench: no table
	profile  string
	hlog     string // write interval histograms in the HdrHistogram log format here
	hgrm     string // write percentile distributions in HdrHistogram's hgrm format here
}

// checkHistogramFiles checks that --hlog and --hgrm can be written before
// any load is run, and that they name two files.
func checkHistogramFiles(hlog, hgrm string) error {
	for _, f := range [][2]string{{"--hlog", hlog}, {"--hgrm", hgrm}} {
		if f[1] == "-" {
			return usagef("%s -: stdout is for the table or -o -; name a file (or /dev/stdout)", f[0])
		}
	}
	if err := results.CheckOutputs(map[string]string{"--hlog": hlog, "--hgrm": hgrm}); err != nil {
		return usagef("%v", err)
	}
	if hlog != "" {
		if err := results.CheckWritable(hlog); err != nil {
			return fmt.Errorf("--hlog %s", err)
		}
	}
	if hgrm != "" {
		if err := results.CheckWritable(hgrm); err != nil {
			return fmt.Errorf("--hgrm %s", err)
		}
	}
	return nil
}

// writeHistograms writes the --hlog and --hgrm files of doc (when asked),
// by results.Write's rules (a device or FIFO in place, a file atomically).
func writeHistograms(doc *results.Document, hlog, hgrm, output string, quiet bool, stderr io.Writer) error {
	// The run's validation refuses this before the run; here it keeps an
	// --hlog or --hgrm from replacing the -o file just written.
	if err := results.CheckOutputs(map[string]string{"-o": output, "--hlog": hlog, "--hgrm": hgrm}); err != nil {
		return usagef("%v (-o was written)", err)
	}
	if hlog != "" {
		if err := results.WriteAtomic(hlog, func(w io.Writer) error { return view.WriteHlog(w, doc) }); err != nil {
			return fmt.Errorf("--hlog: %w", err)
		}
		if !quiet {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", hlog)
		}
	}
	if hgrm != "" {
		name := output
		if name == "" || name == "-" {
			name = "run"
		}
		err := results.WriteAtomic(hgrm, func(w io.Writer) error {
			_, err := view.WriteHgrm(w, []results.Source{{Name: name, Doc: doc}}, results.PhaseOrder)
			return err
		})
		if err != nil {
			return fmt.Errorf("--hgrm: %w", err)
		}
		if !quiet {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", hgrm)
		}
	}
	return nil
}

// execute makes the plan's runs, prints the table and writes the document
// when -o is set. It returns the exit code.
func (p *plan) execute(argv []string, stdout, stderr io.Writer) int {
	if p.output != "" && p.output != "-" {
		if err := results.CheckWritable(p.output); err != nil {
			return exitCode(stderr, fmt.Errorf("--output %s", err))
		}
	}
	if err := checkHistogramFiles(p.hlog, p.hgrm); err != nil {
		return exitCode(stderr, err)
	}
	builtin := !p.target.IsValid()
	if !p.isolate {
		for i := range p.variants {
			if err := checkDescriptors(p.variants[i].opts, builtin); err != nil {
				return exitCode(stderr, err)
			}
		}
	}
	if !builtin && !p.variants[0].opts.noCheck {
		if err := checkTarget(p.target, p.variants[0].opts.connectTimeout); err != nil {
			return exitCode(stderr, err)
		}
	}
	if p.profile != "" {
		f, err := os.Create(p.profile)
		if err != nil {
			return exitCode(stderr, usagef("--cpuprofile: %v", err))
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if !p.child {
		cleanLeftovers() // a run killed before could not remove its directories
	}
	ctx, stop := signalContext()
	defer stop()
	if p.host != nil {
		if err := p.host.begin(); err != nil {
			return exitCode(stderr, err)
		}
		defer func() {
			if err := p.host.restore(); err != nil {
				fmt.Fprintf(stderr, "connbench: %v\n", err)
			}
		}()
	}

	// With -o - the JSON owns stdout; the table goes to stderr.
	tableOut := stdout
	if p.output == "-" {
		tableOut = stderr
	}
	if start := p.variants[0].opts.start; !start.IsZero() {
		if !p.quiet {
			fmt.Fprintf(stderr, "connbench: waiting until %s to start\n", start.Format(time.RFC3339Nano))
		}
		select {
		case <-time.After(time.Until(start)):
		case <-ctx.Done():
		}
	}
	doc := newDocument(argv)
	if ctx.Err() != nil {
		// Stopped before the start: a document with no runs, flagged
		// partial, still says so (and lets a --procs parent merge).
		doc.Partial = true
		doc.Runs = []results.Run{}
	}
	total := p.repeat * len(p.variants)
	n := 0
	for rep := 1; rep <= p.repeat && !doc.Partial; rep++ {
		for vi := range p.variants {
			v := &p.variants[vi]
			n++
			if !p.quiet && total > 1 {
				fmt.Fprintf(stderr, "connbench: [%d/%d] %s\n", n, total, v.label)
			}
			var (
				run     results.Run
				partial bool
			)
			if p.isolate {
				ir := isolatedRun{args: v.args, base: namespaceBase(doc.Sysctls), sysctls: v.sysctls}
				if p.quiet {
					ir.args = append(append([]string{}, ir.args...), "--quiet")
				}
				child, code, err := ir.exec(ctx, stderr)
				if err != nil {
					return exitCode(stderr, err)
				}
				if child == nil {
					return code
				}
				run = child.Runs[0]
				run.Sysctls = child.Sysctls
				partial = child.Partial
			} else {
				if p.host != nil {
					if err := p.host.apply(v.sysctls); err != nil {
						return exitCode(stderr, err)
					}
					doc.Sysctls = kernel.ReadSysctls("", kernel.DefaultSysctls)
				}
				var err error
				run, partial, err = runLocal(ctx, v.opts, p.target, doc.Sysctls, stderr)
				if err != nil {
					return exitCode(stderr, err)
				}
				if p.host != nil {
					run.Sysctls = doc.Sysctls
				}
			}
			run.Label = v.label
			if p.repeat > 1 {
				run.Repetition = rep
			}
			if len(v.settings) > 0 {
				run.Settings = map[string]string{}
				for _, kv := range v.settings {
					run.Settings[kv[0]] = kv[1]
				}
			}
			doc.Runs = append(doc.Runs, run)
			if partial {
				doc.Partial = true
				break
			}
		}
	}
	if p.host != nil {
		doc.Sysctls = p.host.original()
	}
	if !p.child {
		if err := view.WriteTable(tableOut, doc); err != nil {
			return exitCode(stderr, err)
		}
	}
	if p.output != "" {
		if err := writeDoc(p.output, doc, stdout); err != nil {
			return exitCode(stderr, err)
		}
		if p.output != "-" && !p.quiet && !p.child {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", p.output)
		}
	}
	if err := writeHistograms(doc, p.hlog, p.hgrm, p.output, p.quiet || p.child, stderr); err != nil {
		return exitCode(stderr, err)
	}
	if doc.Partial {
		if !p.child {
			fmt.Fprintln(stderr, "connbench: interrupted; the results above are partial")
		}
		return interruptedCode(ctx)
	}
	return exitOK
}

// namespaceBase is what a fresh namespace gets of the host's sysctls so that
// it behaves like the host: the recorded ones that are per namespace.
func namespaceBase(host map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range host {
		if strings.HasPrefix(k, "net.") {
			out[k] = v
		}
	}
	return out
}

// runLocal makes one run in this process, against target or, when target
// is the zero value, against a built-in listener started for the run.
func runLocal(ctx context.Context, o *runOptions, target netip.AddrPort, sysctls map[string]string, stderr io.Writer) (results.Run, bool, error) {
	builtin := !target.IsValid()
	if builtin {
		// Client and listener share the CPUs: give each half of them,
		// rather than two threads per CPU that the kernel must switch.
		half := max(1, runtime.NumCPU()/2)
		if o.loops == 0 {
			o.loops = half
		}
		if o.listenerLoops == 0 {
			o.listenerLoops = half
		}
	}
	var (
		ln *listener.Listener
		em *emulated
	)
	if o.pathCfg != nil && !builtin {
		return results.Run{}, false, fmt.Errorf("the emulated path (--rtt, --loss, --drop-syn, ...) joins the client and the built-in listener in namespaces of their own; it cannot shape the path to %s", target)
	}
	if builtin {
		var err error
		if o.pathCfg != nil {
			em, ln, err = startPath(*o.pathCfg, pathSysctls(sysctls), o.listenerConfig(), o.foMode != dialer.FastOpenOff, stderr, o.quiet)
			if err == nil {
				defer em.close()
			}
		} else {
			ln, err = listener.Start(o.listenerConfig())
		}
		if err != nil {
			return results.Run{}, false, err
		}
		defer ln.Close()
		target = ln.Addr()
	}
	if o.foMode != dialer.FastOpenOff && em == nil {
		warn, err := fastOpenBits(sysctls, builtin)
		if err != nil {
			return results.Run{}, false, err
		}
		if warn != "" && !o.quiet {
			fmt.Fprintf(stderr, "connbench: warning: %s\n", warn)
		}
	}
	ensureProcs(o, builtin)
	name := o.workload
	if note := o.spreadSources(target, portFacts(sysctls, o, target).Ports); note != "" && !o.quiet {
		fmt.Fprintf(stderr, "connbench: %s\n", note)
	}
	facts := portFacts(sysctls, o, target)
	cfg := o.config(name, target)
	cfg.PortRange = facts.Ports
	if em != nil {
		cfg.Spawn = em.spawn
		cfg.TCPInfo = true
	}
	if name == "backlog" {
		cfg.TCPInfo = true
	}
	var fl *flood.Flooder
	if name == "synflood" {
		length := cfg.Warmup + cfg.Duration + 10*time.Second
		if cfg.Duration == 0 {
			length = cfg.Warmup + time.Minute // -n runs: a bound all the same
		}
		var err error
		if fl, err = startFlood(em, target, o.floodRate, length); err != nil {
			return results.Run{}, false, err
		}
		defer fl.Stop()
		if !o.quiet {
			fmt.Fprintf(stderr, "connbench: flooding %s with %g spoofed SYNs/s from %s\n", target, o.floodRate, flood.Range)
		}
	}
	var pred *workloads.Prediction
	if cfg.Rate > 0 && !workloads.Registry[name].Persistent {
		p := workloads.PredictExhaustion(facts, max(cfg.Rate, cfg.RateEnd), cfg.Socket.Close == dialer.CloseRST)
		pred = &p
	}
	prog := newProgress(stderr, o.quiet, cfg)
	cfg.OnInterval = prog.interval
	var hm *holdMeter
	if name == "hold" {
		hm = newHoldMeter(!o.noSample)
		cfg.OnReady = hm.ready
	}
	var sw *serverWatch
	if ln != nil && !o.noSample {
		var do func(func() error) error
		if em != nil {
			do = em.path.Server.Do
		}
		sw = newServerWatch(ln, do)
	}
	cfg.OnInterval = func(iv workloads.Interval) {
		if hm != nil {
			hm.sample(iv.Inflight)
		}
		if sw != nil {
			sw.interval(iv)
		}
		prog.interval(iv)
	}
	cfg.HardStop = hardStop(ctx)
	stopMsg := context.AfterFunc(ctx, func() {
		if !o.quiet {
			prog.done()
			fmt.Fprintf(stderr, "connbench: stopping: no new work; waiting up to %s for what is in flight (Ctrl-C again to stop now)\n", drainGrace)
		}
	})
	defer stopMsg()
	if !o.quiet {
		fmt.Fprintf(stderr, "connbench: %s against %s, %s, %s\n", name, describeTarget(target, builtin), describeLoad(cfg), describeLength(cfg))
		if pred != nil {
			fmt.Fprintf(stderr, "connbench: prediction: %s\n", pred.Text)
		}
	}
	var (
		mu       sync.Mutex
		before   listener.Stats
		pu0, ps0 time.Duration
	)
	cfg.OnMeasure = func() {
		mu.Lock()
		defer mu.Unlock()
		if ln != nil {
			before = ln.Stats()
		}
		pu0, ps0 = kernel.ProcessCPU()
	}
	res, err := workloads.Run(ctx, cfg)
	prog.done()
	if err != nil {
		if res == nil {
			return results.Run{}, false, err
		}
		fmt.Fprintf(stderr, "connbench: warning: %v\n", err)
	}
	mu.Lock()
	defer mu.Unlock()
	pu1, ps1 := kernel.ProcessCPU()
	run := toRun(res, name, builtin)
	run.CPU.ProcessUserNs, run.CPU.ProcessSysNs = int64(pu1-pu0), int64(ps1-ps0)
	if ln != nil {
		run.Listener = listenerDelta(ln, before)
		if sw != nil {
			sw.finish(&run, res.Series)
		}
	}
	if run.Kernel != nil {
		run.Kernel.PortRangeSize, run.Kernel.Sources = facts.Ports, max(facts.Sources, 1)
	}
	if pred != nil || res.FirstAddrNotAvail >= 0 || res.Exhausted {
		run.Exhaustion = &results.Exhaustion{PredictedNs: -1, FirstAddrNotAvailNs: int64(res.FirstAddrNotAvail), Stopped: res.Exhausted}
		if pred != nil {
			run.Exhaustion.PredictedNs, run.Exhaustion.Prediction = int64(pred.At), pred.Text
		}
	}
	if em != nil {
		run.Path = em.record()
	}
	if hm != nil && res.Hold != nil {
		run.Hold = hm.record(res.Hold, len(cfg.Socket.Sources), ln != nil)
	}
	if fl != nil {
		fl.Stop()
		run.Flood = floodRecord(fl, o.floodRate)
	}
	run.Notes = append(explain.Notes(&run, explain.Context{Config: cfg, Sysctls: sysctls, Builtin: builtin, Prediction: pred}), run.Notes...)
	return run, res.Partial, nil
}

func listenerDelta(ln *listener.Listener, before listener.Stats) *results.Listener {
	after := ln.Stats()
	return &results.Listener{
		Addr:          ln.Addr().String(),
		Accepted:      after.Accepted - before.Accepted,
		Requests:      after.Requests - before.Requests,
		BytesReceived: after.BytesReceived - before.BytesReceived,
		BytesSent:     after.BytesSent - before.BytesSent,
		Resets:        after.Resets - before.Resets,
		Errors:        after.Errors - before.Errors,
		CPUUserNs:     int64(after.CPUUser - before.CPUUser),
		CPUSysNs:      int64(after.CPUSys - before.CPUSys),
		Leaked:        after.Leaked - before.Leaked,
	}
}

// portFacts gathers what decides port exhaustion toward target.
func portFacts(sysctls map[string]string, o *runOptions, target netip.AddrPort) workloads.PortFacts {
	f := workloads.PortFacts{Sources: len(o.sources), Loopback: target.Addr().IsLoopback()}
	if lo, hi, ok := explain.PortRange(sysctls["net.ipv4.ip_local_port_range"]); ok {
		f.Ports = hi - lo + 1
	}
	if o.lportLo != 0 {
		f.Ports = int(o.lportHi) - int(o.lportLo) + 1
	}
	f.TwReuse, _ = strconv.Atoi(sysctls["net.ipv4.tcp_tw_reuse"])
	if ms, err := strconv.Atoi(sysctls["net.ipv4.tcp_tw_reuse_delay"]); err == nil {
		f.ReuseDelay = time.Duration(ms) * time.Millisecond
	}
	return f
}

// writeDoc writes the document to -o: "-" to stdout, a device or FIFO in
// place, a new or regular file atomically (results.Write).
func writeDoc(path string, doc *results.Document, stdout io.Writer) error {
	if err := results.Write(path, stdout, func(w io.Writer) error { return results.Encode(w, doc) }); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}

func describeTarget(t netip.AddrPort, builtin bool) string {
	if builtin {
		return "the built-in listener " + t.String()
	}
	return t.String()
}

func describeLoad(c workloads.Config) string {
	switch {
	case c.RateEnd > 0:
		return fmt.Sprintf("%.6g→%.6g/s ramp", c.Rate, c.RateEnd)
	case c.Rate > 0:
		return fmt.Sprintf("%.6g/s", c.Rate)
	}
	return fmt.Sprintf("%d connections", c.Concurrency)
}

func describeLength(c workloads.Config) string {
	if c.Workload == "hold" {
		s := fmt.Sprintf("open %d connections, hold them %s", c.Requests, c.Duration)
		if c.Ping > 0 {
			s += ", ping every " + c.Ping.String()
		}
		return s
	}
	s := ""
	if c.Duration > 0 {
		s = "for " + c.Duration.String()
	}
	if c.Requests > 0 {
		if s != "" {
			s += " or "
		}
		s += fmt.Sprintf("%d requests", c.Requests)
	}
	if c.Warmup > 0 {
		s += " after a " + c.Warmup.String() + " warm-up"
	}
	return s
}

// checkDescriptors raises the open-file limit to its hard limit and fails
// with the figures when the run still cannot have the descriptors it needs.
func checkDescriptors(o *runOptions, builtin bool) error {
	conns, flag := o.connsNeeded()
	need := uint64(conns) + 64
	if builtin {
		need += uint64(conns) // the listener's end of every connection
	}
	soft, hard, err := kernel.RaiseOpenFileLimit()
	if err != nil {
		return nil // cannot tell; the run will count EMFILE if it happens
	}
	if need > soft {
		who := ""
		if builtin {
			who = " (the built-in listener runs in this process and holds the other end of each connection)"
		}
		return usagef("%s needs about %d open files%s, but this process may have only %d (hard limit %d): split the load over processes with --procs auto, lower it, or raise the hard limit (ulimit -Hn)",
			flag, need, who, soft, hard)
	}
	return nil
}

// ensureProcs gives every event-loop thread a P of its own. The loops hold
// their P through their non-blocking raw syscalls, so with fewer Ps than
// loops they would queue for Ps even while the kernel has CPUs for them.
func ensureProcs(o *runOptions, builtin bool) {
	n := o.loops
	if n == 0 {
		n = runtime.NumCPU()
	}
	conns, _ := o.connsNeeded()
	n = min(n, max(o.concurrency, o.maxInflight, conns))
	if builtin {
		l := o.listenerLoops
		if l == 0 {
			l = runtime.NumCPU()
		}
		n += l
	}
	if runtime.GOMAXPROCS(0) < n+1 {
		runtime.GOMAXPROCS(n + 1)
	}
}

func newDocument(argv []string) *results.Document {
	host, _ := os.Hostname()
	soft, _, _ := kernel.OpenFileLimit()
	return &results.Document{
		Schema:    results.Schema,
		Tool:      results.Tool{Name: "connbench", Version: toolVersion(), GoVersion: runtime.Version()},
		StartedAt: time.Now().UTC(),
		Command:   append([]string{"connbench"}, argv...),
		Host:      results.Host{Hostname: host, Kernel: kernel.KernelRelease(), CPUs: runtime.NumCPU(), OpenFileLimit: soft},
		Sysctls:   kernel.ReadSysctls("", kernel.DefaultSysctls),
	}
}

// toRun turns a workload result into the document's run record.
func toRun(res *workloads.Result, label string, builtin bool) results.Run {
	cfgJSON, _ := json.Marshal(res.Config)
	r := results.Run{
		Label:           label,
		Workload:        res.Config.Workload,
		Target:          res.Config.Target.String(),
		BuiltinListener: builtin,
		Config:          cfgJSON,
		StartedAt:       res.Start.UTC(),
		DurationNs:      int64(res.Elapsed),
		Partial:         res.Partial,
		Counts: results.Counts{
			Connections:   res.Connections,
			Transactions:  res.Transactions,
			BytesSent:     res.BytesSent,
			BytesReceived: res.BytesReceived,
		},
		Failures:      res.Failures,
		FailuresTotal: res.FailuresTotal(),
		Statuses:      res.Statuses,
		CPU:           results.CPU{UserNs: int64(res.CPUUser), SysNs: int64(res.CPUSys)},
		Phases:        map[string]results.Phase{},
	}
	if s := res.Elapsed.Seconds(); s > 0 {
		r.Rates.ConnsPerSec = float64(res.Connections) / s
		r.Rates.TransactionsPerSec = float64(res.Transactions) / s
	}
	if res.Connections > 0 {
		r.CPU.UserNsPerConn = float64(res.CPUUser) / float64(res.Connections)
	}
	if res.Transactions > 0 {
		r.CPU.UserNsPerTransaction = float64(res.CPUUser) / float64(res.Transactions)
	}
	for name, rec := range res.Phases {
		p, err := results.NewPhase(rec)
		if err != nil {
			r.Notes = append(r.Notes, "could not encode the "+name+" histogram: "+err.Error())
			continue
		}
		r.Phases[name] = p
	}
	for i, rec := range res.ConnectCall {
		if rec.Count() == 0 {
			continue
		}
		if p, err := results.NewPhase(rec); err == nil {
			if r.ConnectCall == nil {
				r.ConnectCall = map[string]results.Phase{}
			}
			r.ConnectCall[workloads.OccupancyBands[i]] = p
		}
	}
	if res.Config.Rate > 0 || res.Config.RateEnd > 0 {
		r.Schedule = &results.Schedule{RatePerSec: res.Config.Rate, RateEndPerSec: res.Config.RateEnd, Behind: res.Behind}
	}
	for _, iv := range res.Series {
		r.Series = append(r.Series, toInterval(iv))
	}
	if t := res.TCPInfo; t != nil {
		r.TCPInfo = &results.TCPInfo{Handshakes: t.Handshakes, Retransmitted: t.Retransmitted, RTOs: t.RTOs, HasRTO: t.HasRTO,
			FastOpen: t.FastOpen, SYNData: t.SYNData}
	}
	if k := res.Kernel; k != nil {
		r.Kernel = &results.Kernel{Counters: k.Counters, PeakStates: k.PeakStates, PeakPortsInUse: k.PeakPortsInUse,
			Samples: k.Samples, SampleMaxNs: k.SampleMaxNs}
	}
	return r
}

func toInterval(iv workloads.Interval) results.Interval {
	out := results.Interval{
		StartNs: int64(iv.Start), EndNs: int64(iv.End), Warmup: iv.Warmup,
		Transactions: iv.Transactions, Connections: iv.Connections,
		BytesSent: iv.BytesSent, BytesReceived: iv.BytesReceived,
		Failures: iv.Failures, Inflight: iv.Inflight,
		Hdr: iv.Hists, States: iv.States, PortsInUse: iv.PortsInUse, Counters: iv.Counters,
	}
	if len(out.Failures) == 0 {
		out.Failures = nil
	}
	for _, v := range iv.Failures {
		out.FailuresTotal += v
	}
	if s := (iv.End - iv.Start).Seconds(); s > 0 {
		out.TransactionsPerSec = float64(iv.Transactions) / s
		out.ConnsPerSec = float64(iv.Connections) / s
	}
	if len(iv.Phases) > 0 {
		out.Phases = map[string]results.IntervalPhase{}
		for k, s := range iv.Phases {
			out.Phases[k] = results.IntervalPhase{Count: s.Count, P50Ns: s.P50Ns, P99Ns: s.P99Ns, MaxNs: s.MaxNs}
		}
	}
	return out
}

package runner

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/connbench/connbench/explain"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/listener"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/workloads"
)

// Version is the tool version written into every result document.
const Version = "0.2.0"

// ToolVersion is Version plus the VCS revision when the binary has one.
func ToolVersion() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
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
		SpinNs:        int64(after.Spin - before.Spin),
		Leaked:        after.Leaked - before.Leaked,
		TLS:           listenerTLSRecord(after, before),
		IdleCloseNs:   int64(ln.Config().IdleClose),
		IdleClosed:    after.IdleClosed - before.IdleClosed,
	}
}

// portFacts gathers what decides port exhaustion toward target.
func portFacts(sysctls map[string]string, s *Spec, target netip.AddrPort) workloads.PortFacts {
	f := workloads.PortFacts{Sources: len(s.Source.Addrs), Loopback: target.Addr().IsLoopback()}
	if lo, hi, ok := explain.PortRange(sysctls["net.ipv4.ip_local_port_range"]); ok {
		f.Ports = hi - lo + 1
	}
	if s.lportLo != 0 {
		f.Ports = int(s.lportHi) - int(s.lportLo) + 1
	}
	f.TwReuse, _ = strconv.Atoi(sysctls["net.ipv4.tcp_tw_reuse"])
	if ms, err := strconv.Atoi(sysctls["net.ipv4.tcp_tw_reuse_delay"]); err == nil {
		f.ReuseDelay = time.Duration(ms) * time.Millisecond
	}
	return f
}

// describeTarget names the target for the status line.
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
func checkDescriptors(s *Spec, builtin bool) error {
	conns, flag := s.connsNeeded()
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
		return Usagef("%s needs about %d open files%s, but this process may have only %d (hard limit %d): split the load over processes with --procs auto, lower it, or raise the hard limit (ulimit -Hn)",
			flag, need, who, soft, hard)
	}
	return nil
}

// ensureProcs gives every event-loop thread a P of its own. The loops hold
// their P through their non-blocking raw syscalls, so with fewer Ps than
// loops they would queue for Ps even while the kernel has CPUs for them.
func ensureProcs(s *Spec, builtin bool) {
	n := s.Loops
	if n == 0 {
		n = runtime.NumCPU()
	}
	conns, _ := s.connsNeeded()
	n = min(n, max(s.Concurrency, s.MaxInflight, conns))
	if builtin {
		l := s.ListenerLoops
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
		Tool:      results.Tool{Name: "connbench", Version: ToolVersion(), GoVersion: runtime.Version()},
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
		CPU:           results.CPU{UserNs: int64(res.CPUUser), SysNs: int64(res.CPUSys), ThreadNs: int64(res.CPUThread)},
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
	if res.ConnectCalls > 0 || res.LoopBusy > 0 {
		r.Engine = &results.Engine{ConnectCalls: res.ConnectCalls, ConnectCallNs: int64(res.ConnectCallTime),
			LoopBusyNs: int64(res.LoopBusy), TimerLateMaxNs: int64(res.TimerLateMax), HeldByInflight: res.HeldByInflight,
			SocketsReused: res.SocketsReused, SpinNs: int64(res.Spin), Spins: res.Spins, SpinHits: res.SpinHits}
	}
	if t := res.TCPInfo; t != nil {
		r.TCPInfo = &results.TCPInfo{Handshakes: t.Handshakes, Retransmitted: t.Retransmitted, RTOs: t.RTOs, HasRTO: t.HasRTO,
			FastOpen: t.FastOpen, SYNData: t.SYNData}
	}
	if c := res.Config; c.RequestsPerConn > 0 || c.MaxConnAge > 0 || res.Recycled > 0 || res.ServerClosed > 0 || res.Retried > 0 {
		r.Pooling = &results.Pooling{RequestsPerConn: c.RequestsPerConn, MaxConnAgeNs: int64(c.MaxConnAge),
			Recycled: res.Recycled, ServerClosed: res.ServerClosed, Retried: res.Retried}
	}
	if k := res.Kernel; k != nil {
		r.Kernel = &results.Kernel{Counters: k.Counters, PeakStates: k.PeakStates, PeakPortsInUse: k.PeakPortsInUse,
			Samples: k.Samples, SampleMaxNs: k.SampleMaxNs, StatesAtStart: k.StatesAtStart, Scope: k.Scope}
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

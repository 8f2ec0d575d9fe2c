package explain

import (
	"fmt"
	"strings"
	"time"

	"github.com/connbench/connbench/dialer"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/workloads"
)

// Thresholds for calling connect() the loops' bottleneck. On loopback a
// non-blocking connect() that finds a free port at once costs tens of
// microseconds (the handshake runs in the call's softirq); the kernel's
// search of a crowded ephemeral range makes it hundreds to thousands.
const (
	// The engine's own thresholds for the stall (workloads.Stall*): the
	// mean connect() time above which a call searched the range, the share
	// of the loops' busy time in connect() at which connect() is what the
	// loops did, and how much the fullest occupancy band's connect() p50
	// must exceed the emptiest's to count as growth.
	searchCallNs = workloads.StallConnectMean
	searchShare  = workloads.StallShare
	searchGrowth = workloads.StallGrowth
	// cpuBusy is the share of all CPUs busy over the run at or above which
	// the CPU was the limit.
	cpuBusy = 0.85
)

var bandOrder = workloads.OccupancyBands

var bandWords = map[string]string{"lt50": "under 50%", "50_75": "50-75%", "75_90": "75-90%", "90_100": "90-100%"}

// connectShare is the share of the loops' busy time spent inside
// connect() and the mean time per call; ok is false without the figures.
func connectShare(e *results.Engine) (share float64, mean time.Duration, ok bool) {
	if e == nil || e.LoopBusyNs <= 0 || e.ConnectCalls <= 0 {
		return 0, 0, false
	}
	return float64(e.ConnectCallNs) / float64(e.LoopBusyNs), time.Duration(e.ConnectCallNs / e.ConnectCalls), true
}

// portSearch says what in the run shows connect() searching the ephemeral
// range for a free port — its time growing with the ports in use, the
// loops' time going into it, or the stall seen — and "" when nothing does.
func portSearch(r *results.Run) string {
	var ev []string
	if e := r.Exhaustion; e != nil && e.StallNs > 0 {
		ev = append(ev, fmt.Sprintf("connect() stalled from %s", view.Dur(e.StallNs)))
	}
	var first, last string
	for _, b := range bandOrder {
		if p, ok := r.ConnectCall[b]; ok && p.Count > 0 {
			if first == "" {
				first = b
			}
			last = b
		}
	}
	if first != "" && last != first {
		lo, hi := r.ConnectCall[first].P50Ns, r.ConnectCall[last].P50Ns
		if hi >= searchGrowth*lo && hi >= int64(searchCallNs) {
			ev = append(ev, fmt.Sprintf("connect() took %s (p50) with %s of the ports in use and %s at %s", view.Dur(lo), bandWords[first], view.Dur(hi), bandWords[last]))
		}
	}
	if share, mean, ok := connectShare(r.Engine); ok && share >= searchShare && mean >= searchCallNs {
		ev = append(ev, fmt.Sprintf("the loops spent %.0f%% of their busy time inside connect() (%s per call)", 100*share, view.Dur(int64(mean))))
	}
	return strings.Join(ev, "; ")
}

// portSearchNote names the kernel's port search as the cause when the run
// shows it, with the remedies in the order they help; those already in
// force are left out.
func portSearchNote(r *results.Run, c Context, evidence string) string {
	if evidence == "" {
		return ""
	}
	cfg := c.Config
	reuse := c.Sysctls["net.ipv4.tcp_tw_reuse"]
	var rem []string
	held := cfg.Workload == "hold" // its ports are held, not in TIME_WAIT
	if !held && !(reuse == "1" || (reuse == "2" && cfg.Target.Addr().IsLoopback())) {
		rem = append(rem, "TIME_WAIT reuse (sysctl net.ipv4.tcp_tw_reuse=1; compare --vary sysctl:net.ipv4.tcp_tw_reuse=0,1)")
	}
	if cfg.Socket.LocalPortRange == [2]uint16{} {
		rem = append(rem, "IP_BIND_ADDRESS_NO_PORT / IP_LOCAL_PORT_RANGE (--bind-no-port, --local-port-range: the port is picked for the full 4-tuple)")
	}
	rem = append(rem, "more source addresses (--source)", "a wider net.ipv4.ip_local_port_range")
	if !held && cfg.Socket.Close != dialer.CloseRST {
		rem = append(rem, "RST close (--close rst: no TIME_WAIT)")
	}
	fillers := "TIME_WAIT sockets"
	if held {
		fillers = "held connections" // each keeps its port
	}
	if !held {
		rem = append(rem, "pooling (a persistent workload)")
	}
	s := fmt.Sprintf("connect() time went into the kernel's port search: %s. connect() walks the ephemeral range for a port free toward this destination, even ports first; as %s fill the range the walk lengthens, and near half the range in use it stalls. That is the kernel, not the tool or the server. Remedies, in the order they help: %s.",
		evidence, fillers, strings.Join(rem, ", "))
	if e := r.Engine; e != nil && e.TimerLateMaxNs > int64(10*time.Millisecond) {
		s += fmt.Sprintf(" While the loops were inside connect(), timers fired up to %s late: a handshake or response shows at most that much over its timeout.", view.Dur(e.TimerLateMaxNs))
	}
	return s
}

// exhaustionNote sets the port-exhaustion prediction beside what was seen:
// the port-search stall or EADDRNOTAVAIL, and what stopped
// --until-exhausted. A note where nothing was expected and nothing came is
// marked view.NothingNote.
func exhaustionNote(r *results.Run, c Context, searched bool) string {
	e := r.Exhaustion
	if c.Prediction == nil && e == nil {
		return ""
	}
	if e == nil {
		e = &results.Exhaustion{PredictedNs: c.Prediction.At.Nanoseconds(), FirstAddrNotAvailNs: -1}
	}
	text := e.Prediction
	if c.Prediction != nil {
		text = c.Prediction.Text
	}
	predicted := text
	if predicted == "" {
		predicted = "none (no port-exhaustion prediction for this run)"
	}
	if e.PredictedStallNs > 0 && !strings.Contains(text, "port search") { // said once
		predicted += fmt.Sprintf("; connect()'s port search expected to stall from %s (half the range in use: connect() takes even ports first)", view.Dur(e.PredictedStallNs))
	}
	var seen []string
	if e.StallNs > 0 {
		seen = append(seen, fmt.Sprintf("connect() stalled from %s (the kernel's port search)", view.Dur(e.StallNs)))
	} else if e.PredictedStallNs > 0 {
		seen = append(seen, "no stall")
	}
	if e.FirstAddrNotAvailNs >= 0 {
		seen = append(seen, fmt.Sprintf("the first EADDRNOTAVAIL came at %s", view.Dur(e.FirstAddrNotAvailNs)))
	} else {
		seen = append(seen, "no EADDRNOTAVAIL happened")
	}
	s := fmt.Sprintf("port exhaustion: predicted: %s; seen: %s", predicted, strings.Join(seen, ", "))
	if e.Stopped {
		switch e.StoppedBy {
		case workloads.StopPortSearchStall:
			s += "; --until-exhausted stopped the run at the stall (port_search_stall)"
		case workloads.StopAddrNotAvail:
			s += "; --until-exhausted stopped the run at the first EADDRNOTAVAIL"
		default:
			s += "; --until-exhausted stopped the run there"
		}
	}
	s += "."
	predictedAt := e.PredictedNs
	if c.Prediction != nil {
		predictedAt = c.Prediction.At.Nanoseconds()
	}
	if predictedAt < 0 && e.PredictedStallNs <= 0 && e.StallNs <= 0 && e.FirstAddrNotAvailNs < 0 && !e.Stopped && !searched {
		s = view.NothingNote + s
	}
	return s
}

// scheduleNote says an open-loop schedule was not kept and why: the
// in-flight limit only when it held starts back, connect() when it took
// the loops' time, the client's CPU otherwise.
func scheduleNote(r *results.Run, c Context, behind int64, searched bool) string {
	s := fmt.Sprintf("the schedule was not kept: %s transactions were due but never started", view.Count(behind))
	e := r.Engine
	share, _, haveShare := connectShare(e)
	switch {
	case e == nil:
		s += " (this result has no engine figures to tell whether --max-inflight or the client's CPU held them back)"
	case e.HeldByInflight > 0:
		s += fmt.Sprintf("; %s starts waited for the in-flight limit (--max-inflight %d): raise --max-inflight or lower --rate", view.Count(e.HeldByInflight), c.Config.MaxInflight)
	case searched:
		s += fmt.Sprintf("; the in-flight limit held none back: the loops' time went into connect() (%.0f%% of it), the kernel's port search (see that note), so --max-inflight would not help", 100*share)
	default:
		s += "; the in-flight limit held none back: the client's loops had no time left (its CPU was the limit"
		if haveShare {
			s += fmt.Sprintf("; %.0f%% of their busy time was connect()", 100*share)
		}
		s += "): lower --rate or spread the load (--procs)"
	}
	return s + "; the 'scheduled' latencies count the wait of those that did start late."
}

// rateLimitNote says what limited a closed-loop run's rate when the ports
// did not: the CPUs (client and listener, from the run's CPU figures over
// its duration and the host's CPU count), or neither.
func rateLimitNote(r *results.Run, c Context) string {
	conns := r.Counts.Connections
	if conns <= 0 || r.DurationNs <= 0 {
		return ""
	}
	client := r.CPU.UserNs + r.CPU.SysNs
	var listener int64
	if l := r.Listener; l != nil {
		listener = l.CPUUserNs + l.CPUSysNs
	}
	total := client + listener
	if c.Builtin {
		// The process's time holds both ends and the Go runtime.
		total = max(total, r.CPU.ProcessUserNs+r.CPU.ProcessSysNs)
	}
	per := fmt.Sprintf("client %s", view.Dur(client/conns))
	if listener > 0 {
		per += fmt.Sprintf(" + listener %s", view.Dur(listener/conns))
	}
	per += " of CPU per connection"
	why := "connect() did not slow and no EADDRNOTAVAIL came, so the TIME_WAIT port limit was not reached"
	if c.CPUs <= 0 {
		return fmt.Sprintf("%s: %s (the host's CPU count is not recorded, so whether the CPUs were the limit cannot be told).", why, per)
	}
	busy := float64(total) / float64(r.DurationNs)
	share := busy / float64(c.CPUs)
	used := fmt.Sprintf("%.1f of %d CPUs busy over the run (%.0f%%)", busy, c.CPUs, 100*share)
	if share >= cpuBusy {
		return fmt.Sprintf("CPU was the limit: %s, %s; %s, and --close rst or more --source addresses would not lift it.", per, used, why)
	}
	if loops := c.Config.Loops; loops > 0 {
		if lc := float64(client) / float64(r.DurationNs) / float64(loops); lc >= cpuBusy {
			return fmt.Sprintf("the client's CPU was the limit: its %s kept %.0f%% of a CPU each busy (%s, %s); %s, so more loops (--procs, or fewer CPUs given to the built-in listener) would lift it, --close rst or more --source addresses would not.",
				plural(loops, "event loop"), 100*lc, per, used, why)
		}
	}
	// The run's CPU figures are its own: they cannot show CPUs taken by
	// other processes. The loops' wall time outside epoll_wait can: loops
	// busy all the time on a fraction of the CPUs waited for a CPU.
	if e, loops := r.Engine, c.Config.Loops; e != nil && e.LoopBusyNs > 0 && loops > 0 {
		lb := float64(e.LoopBusyNs) / float64(r.DurationNs) / float64(loops)
		if lb >= cpuBusy {
			return fmt.Sprintf("CPU was the limit, shared with other work: the client's %s busy %.0f%% of the run, yet this run had only %s (%s): other processes held the rest; %s.",
				map[bool]string{true: "loop was", false: fmt.Sprintf("%d loops were", loops)}[loops == 1], 100*min(lb, 1), used, per, why)
		}
		return fmt.Sprintf("neither the ports nor the CPUs limited the rate: %s; %s, %s, and the loops waited in epoll_wait %.0f%% of the run: each connection waited for its own exchange, so more -c raises it.",
			why, per, used, 100*max(1-lb, 0))
	}
	return fmt.Sprintf("%s; %s, %s: the rest of the CPUs' time went to other processes or idle waits for the exchanges, which this result cannot tell apart.", why, per, used)
}

// plural is "1 loop" or "4 loops".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

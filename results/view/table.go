package view

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/stats"
)

var phaseTitle = map[string]string{
	"handshake":               "handshake",
	"tls_handshake":           "TLS handshake",
	"tls_handshake_full":      "…full",
	"tls_handshake_resumed":   "…resumed",
	"first_byte":              "first byte",
	"response":                "response",
	"transaction":             "transaction",
	"scheduled":               "from schedule",
	"start_lag":               "start lag",
	"connect_first_byte":      "connect→first byte",
	"connect_first_byte_cold": "…cold (no SYN data)",
	"connect_first_byte_warm": "…warm (SYN data)",
}

// TableCounters are the kernel counters the table shows (when non-zero).
var TableCounters = []string{
	"Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.AttemptFails", "Tcp.EstabResets", "Tcp.RetransSegs",
	"TcpExt.TW", "TcpExt.TWRecycled", "TcpExt.TWKilled", "TcpExt.TCPTimeWaitOverflow",
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv",
	"TcpExt.SyncookiesFailed", "TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies", "TcpExt.TCPFastOpenActive", "TcpExt.TCPFastOpenActiveFail",
	"TcpExt.TCPFastOpenPassive", "TcpExt.TCPFastOpenPassiveFail", "TcpExt.TCPFastOpenCookieReqd",
	"TcpExt.TCPAbortOnData", "TcpExt.TCPSynRetrans",
}

var bandTitle = map[string]string{"lt50": "<50%", "50_75": "50-75%", "75_90": "75-90%", "90_100": "90-100%"}

// Headline returns the sentences that answer the run's question, or nil.
// For a document holding a pooled and a per-request run, it says how many
// times more requests per second pooling gives and what a new connection
// adds per request at p50 and p99.
func Headline(doc *results.Document) []string {
	pooled, perReq := find(doc, "pooled"), find(doc, "per-request")
	if pooled == nil || perReq == nil {
		return nil
	}
	var out []string
	pr, rr := pooled.Rates.TransactionsPerSec, perReq.Rates.TransactionsPerSec
	if rr > 0 && pr > 0 {
		out = append(out, fmt.Sprintf("Pooling gives %.2f× the requests per second of a new connection per request (%s/s vs %s/s).",
			pr/rr, Count(int64(math.Round(pr))), Count(int64(math.Round(rr)))))
	}
	pt, okp := pooled.Phases["transaction"]
	rt, okr := perReq.Phases["transaction"]
	if okp && okr && pt.Count > 0 && rt.Count > 0 {
		out = append(out, fmt.Sprintf("A new connection adds %s at p50 and %s at p99 to each request (transaction latency %s → %s at p50, %s → %s at p99).",
			signedDur(rt.P50Ns-pt.P50Ns), signedDur(rt.P99Ns-pt.P99Ns),
			Dur(pt.P50Ns), Dur(rt.P50Ns), Dur(pt.P99Ns), Dur(rt.P99Ns)))
	}
	if h, ok := perReq.Phases["handshake"]; ok && h.Count > 0 {
		out = append(out, fmt.Sprintf("The handshake alone takes %s at p50 and %s at p99.", Dur(h.P50Ns), Dur(h.P99Ns)))
	}
	if h, ok := perReq.Phases["tls_handshake"]; ok && h.Count > 0 {
		out = append(out, fmt.Sprintf("The TLS handshake after it takes %s at p50 and %s at p99.", Dur(h.P50Ns), Dur(h.P99Ns)))
	}
	return out
}

// find returns the median run of the one variant that ran workload, or nil
// when none or several did.
func find(doc *results.Document, workload string) *results.Run {
	var found *results.Run
	for _, g := range results.Groups(doc) {
		if g.Runs[0].Workload == workload {
			if found != nil {
				return nil // ambiguous
			}
			found = g.MedianRun()
		}
	}
	return found
}

// WriteTable renders the document as the text a run prints: a headline
// when there is one, then the runs side by side, then their notes.
func WriteTable(w io.Writer, doc *results.Document) error {
	var b strings.Builder
	if len(doc.Runs) == 0 {
		b.WriteString("no runs\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, s := range Headline(doc) {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	groups := results.Groups(doc)
	// view is what the table shows: one column per variant, its figures
	// the medians of its repetitions.
	view := &results.Document{Runs: make([]results.Run, len(groups))}
	repeated := false
	for i, g := range groups {
		view.Runs[i] = *g.MedianRun()
		repeated = repeated || len(g.Runs) > 1
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Labels, failure classes, counter names and the like come from the
	// file or the network: each cell is made Printable, which also keeps
	// a tab or newline in one from breaking the table.
	row := func(label string, cells ...string) {
		fmt.Fprintf(tw, "%s\t", results.Printable(label))
		for _, c := range cells {
			fmt.Fprintf(tw, "%s\t", results.Printable(c))
		}
		tw.Write([]byte{'\n'})
	}
	cells := func(f func(r *results.Run) string) []string {
		out := make([]string, len(view.Runs))
		for i := range view.Runs {
			out[i] = f(&view.Runs[i])
		}
		return out
	}
	row("", cells(func(r *results.Run) string {
		if r.Partial {
			return r.Label + " (partial)"
		}
		return r.Label
	})...)
	if repeated {
		row("runs (medians shown)", cellsG(groups, func(g results.Group) string { return Count(int64(len(g.Runs))) })...)
	}
	row("duration", cells(func(r *results.Run) string { return Dur(r.DurationNs) })...)
	row("transactions/s", cells(func(r *results.Run) string { return Count(int64(math.Round(r.Rates.TransactionsPerSec))) })...)
	if repeated {
		row("  min–max", cellsG(groups, func(g results.Group) string {
			lo, hi := g.Range(rate)
			return Count(int64(math.Round(lo))) + "–" + Count(int64(math.Round(hi)))
		})...)
	}
	if len(groups) > 1 {
		row("vs "+groups[0].Label, cellsG(groups, func(g results.Group) string {
			if g.Label == groups[0].Label {
				return "baseline"
			}
			b := groups[0].Median(rate)
			if b == 0 {
				return "n/a"
			}
			return pct((g.Median(rate) - b) / b)
		})...)
	}
	row("new connections/s", cells(func(r *results.Run) string { return Count(int64(math.Round(r.Rates.ConnsPerSec))) })...)
	row("transactions", cells(func(r *results.Run) string { return Count(r.Counts.Transactions) })...)
	row("connections", cells(func(r *results.Run) string { return Count(r.Counts.Connections) })...)
	row("failures", cells(func(r *results.Run) string { return Count(r.FailuresTotal) })...)
	for _, class := range failureClasses(view) {
		row("failures "+class, cells(func(r *results.Run) string { return Count(r.Failures[class]) })...)
	}
	for _, st := range statusClasses(view) {
		row("answered "+st, cells(func(r *results.Run) string { return Count(r.Statuses[st]) })...)
	}
	for _, ph := range results.PhaseOrder {
		if !anyPhase(view, ph) {
			continue
		}
		for i, pc := range []struct {
			name string
			get  func(p results.Phase) int64
		}{
			{"p50", func(p results.Phase) int64 { return p.P50Ns }},
			{"p90", func(p results.Phase) int64 { return p.P90Ns }},
			{"p99", func(p results.Phase) int64 { return p.P99Ns }},
			{"p99.9", func(p results.Phase) int64 { return p.P999Ns }},
			{"max", func(p results.Phase) int64 { return p.MaxNs }},
		} {
			label := pc.name
			if i == 0 {
				label = phaseTitle[ph] + " " + pc.name
			}
			row(label, cells(func(r *results.Run) string {
				p, ok := r.Phases[ph]
				if !ok || p.Count == 0 {
					return "—"
				}
				return Dur(pc.get(p))
			})...)
		}
	}
	if anyRun(view, func(r *results.Run) bool { return r.Schedule != nil }) {
		row("schedule behind", cells(func(r *results.Run) string {
			if r.Schedule == nil {
				return "—"
			}
			return Count(r.Schedule.Behind)
		})...)
	}
	for _, band := range []string{"lt50", "50_75", "75_90", "90_100"} {
		if !anyRun(view, func(r *results.Run) bool { _, ok := r.ConnectCall[band]; return ok }) {
			continue
		}
		row("connect() p50/p99, ports "+bandTitle[band], cells(func(r *results.Run) string {
			p, ok := r.ConnectCall[band]
			if !ok {
				return "—"
			}
			return Dur(p.P50Ns) + " / " + Dur(p.P99Ns)
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.Kernel != nil && r.Kernel.Samples > 0 }) {
		row("TIME_WAIT peak", cells(func(r *results.Run) string {
			if r.Kernel == nil || r.Kernel.Samples == 0 {
				return "—"
			}
			return Count(int64(r.Kernel.PeakStates["time_wait"])) + atStart(r.Kernel, r.Kernel.StatesAtStart["time_wait"])
		})...)
		row("ports in use peak", cells(func(r *results.Run) string {
			if r.Kernel == nil || r.Kernel.Samples == 0 {
				return "—"
			}
			s := Count(int64(r.Kernel.PeakPortsInUse))
			if n := r.Kernel.PortRangeSize * max(r.Kernel.Sources, 1); n > 0 {
				s += fmt.Sprintf(" of %s", Count(int64(n)))
			}
			n := 0
			for _, v := range r.Kernel.StatesAtStart {
				n += v
			}
			return s + atStart(r.Kernel, n)
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.Exhaustion != nil }) {
		row("predicted exhaustion", cells(func(r *results.Run) string {
			if r.Exhaustion == nil || r.Exhaustion.PredictedNs < 0 {
				return "none"
			}
			return "at " + Dur(r.Exhaustion.PredictedNs)
		})...)
		row("first EADDRNOTAVAIL", cells(func(r *results.Run) string {
			if r.Exhaustion == nil || r.Exhaustion.FirstAddrNotAvailNs < 0 {
				return "never"
			}
			return "at " + Dur(r.Exhaustion.FirstAddrNotAvailNs)
		})...)
		if anyRun(view, func(r *results.Run) bool {
			return r.Exhaustion != nil && (r.Exhaustion.PredictedStallNs > 0 || r.Exhaustion.StallNs > 0)
		}) {
			row("predicted port-search stall", cells(func(r *results.Run) string {
				if r.Exhaustion == nil || r.Exhaustion.PredictedStallNs <= 0 {
					return "none"
				}
				return "at " + Dur(r.Exhaustion.PredictedStallNs)
			})...)
			row("port-search stall", cells(func(r *results.Run) string {
				if r.Exhaustion == nil || r.Exhaustion.StallNs <= 0 {
					return "never"
				}
				return "at " + Dur(r.Exhaustion.StallNs)
			})...)
		}
		if anyRun(view, func(r *results.Run) bool { return r.Exhaustion != nil && r.Exhaustion.Stopped }) {
			row("--until-exhausted stopped at", cells(func(r *results.Run) string {
				switch {
				case r.Exhaustion == nil || !r.Exhaustion.Stopped:
					return "—"
				case r.Exhaustion.StoppedBy == "port_search_stall":
					return "the stall"
				case r.Exhaustion.StoppedBy != "":
					return r.Exhaustion.StoppedBy
				}
				return "yes"
			})...)
		}
	}
	if anyRun(view, func(r *results.Run) bool { return r.Engine != nil }) {
		engine := func(f func(e *results.Engine) string) []string {
			return cells(func(r *results.Run) string {
				if r.Engine == nil {
					return "—"
				}
				return f(r.Engine)
			})
		}
		row("loops' time in connect()", engine(func(e *results.Engine) string {
			if e.LoopBusyNs <= 0 || e.ConnectCalls <= 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f%% (%s per call)", 100*float64(e.ConnectCallNs)/float64(e.LoopBusyNs), Dur(e.ConnectCallNs/e.ConnectCalls))
		})...)
		if anyRun(view, func(r *results.Run) bool { return r.Engine != nil && r.Engine.SocketsReused > 0 }) {
			row("sockets reused (not closed)", engine(func(e *results.Engine) string { return Count(e.SocketsReused) })...)
		}
		if anyRun(view, func(r *results.Run) bool { return r.Engine != nil && r.Engine.Spins > 0 }) {
			row("client spin µs/txn (--spin)", cells(func(r *results.Run) string {
				e := r.Engine
				if e == nil || e.Spins <= 0 || r.Counts.Transactions <= 0 {
					return "—"
				}
				return fmt.Sprintf("%.2f (%.0f%% of spins found events)", float64(e.SpinNs)/1e3/float64(r.Counts.Transactions), 100*float64(e.SpinHits)/float64(e.Spins))
			})...)
		}
		row("timers late, max", engine(func(e *results.Engine) string { return Dur(e.TimerLateMaxNs) })...)
		if anyRun(view, func(r *results.Run) bool { return r.Schedule != nil }) {
			row("starts held by --max-inflight", engine(func(e *results.Engine) string { return Count(e.HeldByInflight) })...)
		}
	}
	if anyRun(view, func(r *results.Run) bool { return r.Flood != nil }) {
		row("spoofed SYNs sent", cells(func(r *results.Run) string {
			if r.Flood == nil {
				return "—"
			}
			return fmt.Sprintf("%s (%s/s asked)", Count(r.Flood.Sent), Count(int64(r.Flood.RatePerSec)))
		})...)
		row("legitimate success", cells(func(r *results.Run) string {
			if f := r.SuccessShare(); f >= 0 {
				return fmt.Sprintf("%.1f%% (%s unfinished)", 100*f, Count(r.Unfinished()))
			}
			return "—"
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.Hold != nil }) {
		hold := func(f func(h *results.Hold) string) []string {
			return cells(func(r *results.Run) string {
				if r.Hold == nil {
					return "—"
				}
				return f(r.Hold)
			})
		}
		row("held at the end", hold(func(h *results.Hold) string {
			return fmt.Sprintf("%s of %s (opened %s)", Count(h.Held), Count(h.Asked), Count(h.Opened))
		})...)
		row("time to open", hold(func(h *results.Hold) string {
			if h.OpenNs < 0 {
				return "not finished"
			}
			return Dur(h.OpenNs)
		})...)
		row("close at the end", hold(func(h *results.Hold) string {
			switch {
			case h.Close == "":
				return "—"
			case h.TimeWaitLeft < 0:
				return h.Close + " (TIME_WAIT left not counted)"
			}
			return fmt.Sprintf("%s: %s TIME_WAIT left", h.Close, Count(h.TimeWaitLeft))
		})...)
		row("user memory / connection", hold(func(h *results.Hold) string {
			if h.Opened == 0 {
				return "—"
			}
			s := fmt.Sprintf("%.0f B", h.UserBytesPerConn)
			if h.ListenerInProcess {
				s += " (both ends)"
			}
			if h.PerConnMethod == "growth" {
				s = "≤ " + s
			}
			return s + fmt.Sprintf(" + %.1f MiB fixed", float64(h.FixedBytes)/(1<<20))
		})...)
		row("resident growth / connection", hold(func(h *results.Hold) string {
			if h.Opened == 0 || h.RSSGrowthBytes <= 0 {
				return "—"
			}
			who := "client"
			if h.ListenerInProcess {
				who = "client and listener"
			}
			s := fmt.Sprintf("%s %.0f B", who, float64(h.RSSGrowthBytes)/float64(h.Opened))
			if h.ListenerProcs > 0 {
				s += fmt.Sprintf(", listener %.0f B (%d processes)", float64(h.ListenerRSSGrowthBytes)/float64(h.Opened), h.ListenerProcs)
			}
			return s
		})...)
		row("kernel TCP slab / connection", hold(func(h *results.Hold) string {
			if h.Opened == 0 || h.KernelSlabBytes < 0 {
				return "—"
			}
			return Count(int64(math.Round(float64(h.KernelSlabBytes)/float64(h.Opened)))) + " B (both ends)"
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.TCPInfo != nil && r.TCPInfo.FastOpen > 0 }) {
		row("SYN carried the request", cells(func(r *results.Run) string {
			if f := r.TCPInfo.SYNDataShare(); f >= 0 {
				return fmt.Sprintf("%s of %s (%.1f%%)", Count(r.TCPInfo.SYNData), Count(r.TCPInfo.FastOpen), 100*f)
			}
			return "—"
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.TCPInfo != nil && r.TCPInfo.Handshakes > 0 }) {
		row("handshakes with SYN retransmitted", cells(func(r *results.Run) string {
			t := r.TCPInfo
			if t == nil || t.Handshakes == 0 {
				return "—"
			}
			s := fmt.Sprintf("%s of %s", Count(t.Retransmitted), Count(t.Handshakes))
			if t.HasRTO && t.RTOs > 0 {
				s += fmt.Sprintf(" (%s RTOs)", Count(t.RTOs))
			}
			return s
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.Path != nil }) {
		row("path", cells(func(r *results.Run) string {
			if r.Path == nil {
				return "loopback"
			}
			return r.Path.Describe()
		})...)
		row("path added delay p50/p99", cells(func(r *results.Run) string {
			if r.Path == nil || r.Path.AddedDelay == nil || r.Path.AddedDelay.Count == 0 {
				return "—"
			}
			return Dur(r.Path.AddedDelay.P50Ns) + " / " + Dur(r.Path.AddedDelay.P99Ns)
		})...)
		row("path drops asked/unasked", cells(func(r *results.Run) string {
			if r.Path == nil {
				return "—"
			}
			return Count(r.Path.DroppedLoss+r.Path.DroppedSYN) + " / " + Count(r.Path.Unrequested())
		})...)
	}
	counterRows := func(prefix string, get func(r *results.Run) map[string]int64) {
		for _, k := range TableCounters {
			if !anyRun(view, func(r *results.Run) bool { return get(r)[k] != 0 }) {
				continue
			}
			row(prefix+k, cells(func(r *results.Run) string {
				if get(r) == nil {
					return "—"
				}
				return Count(get(r)[k])
			})...)
		}
	}
	counterRows("Δ ", func(r *results.Run) map[string]int64 {
		if r.Kernel == nil {
			return nil
		}
		return r.Kernel.Counters
	})
	if anyRun(view, func(r *results.Run) bool { return r.CPU.ThreadNs > 0 }) {
		row("client CPU µs/txn", cells(func(r *results.Run) string {
			if r.Counts.Transactions == 0 || r.CPU.ThreadNs == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", float64(r.CPU.ThreadNs)/float64(r.Counts.Transactions)/1e3)
		})...)
	}
	row("client CPU µs/txn (user+sys)", cells(func(r *results.Run) string {
		if r.Counts.Transactions == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f+%.2f", float64(r.CPU.UserNs)/float64(r.Counts.Transactions)/1e3,
			float64(r.CPU.SysNs)/float64(r.Counts.Transactions)/1e3)
	})...)
	for _, st := range []string{"syn_recv", "established", "close_wait"} {
		if !anyRun(view, func(r *results.Run) bool { return r.Listener != nil && r.Listener.PeakStates[st] > 0 }) {
			continue
		}
		row("listener "+strings.ToUpper(st)+" peak", cells(func(r *results.Run) string {
			if r.Listener == nil || r.Listener.PeakStates == nil {
				return "—"
			}
			return Count(int64(r.Listener.PeakStates[st]))
		})...)
	}
	if anyRun(view, func(r *results.Run) bool { return r.Listener != nil && r.Listener.Leaked > 0 }) {
		row("listener leaked (CLOSE_WAIT)", cells(func(r *results.Run) string {
			if r.Listener == nil {
				return "—"
			}
			return Count(r.Listener.Leaked)
		})...)
		row("listener descriptors peak", cells(func(r *results.Run) string {
			if r.Listener == nil {
				return "—"
			}
			return Count(r.Listener.PeakDescriptors)
		})...)
	}
	counterRows("listener ns Δ ", func(r *results.Run) map[string]int64 {
		if r.Listener == nil {
			return nil
		}
		return r.Listener.Counters
	})
	if anyListener(view) {
		row("listener CPU µs/txn (user+sys)", cells(func(r *results.Run) string {
			if r.Listener == nil || r.Counts.Transactions == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f+%.2f", float64(r.Listener.CPUUserNs)/float64(r.Counts.Transactions)/1e3,
				float64(r.Listener.CPUSysNs)/float64(r.Counts.Transactions)/1e3)
		})...)
	}
	tlsRows(view, row, cells)
	for _, pr := range poolingRows(view.Runs) {
		row(pr[0], pr[1:]...)
	}
	tw.Flush()
	writeCurves(&b, doc)
	if len(groups) > 1 && repeated {
		// Repetitions: the statistics decide what differs (stats.go).
		b.WriteByte('\n')
		WriteStats(&b, stats.CompareGroups(groups))
	} else if len(groups) > 1 {
		for _, g := range groups[1:] {
			fmt.Fprintf(&b, "\n%s vs %s: %s", results.Printable(g.Label), results.Printable(groups[0].Label), results.Printable(Verdict(groups[0], g)))
		}
		b.WriteByte('\n')
		b.WriteString(tlsVerdicts(view))
	}
	common, own := splitNotes(view.Runs)
	for _, n := range common {
		fmt.Fprintf(&b, "\nnote: %s", results.Printable(n))
	}
	for i, r := range view.Runs {
		for _, n := range own[i] {
			fmt.Fprintf(&b, "\nnote (%s): %s", results.Printable(r.Label), results.Printable(n))
		}
	}
	for _, r := range view.Runs {
		if r.Partial {
			b.WriteString("\nnote: partial results: the run was stopped before its end")
			break
		}
	}
	b.WriteByte('\n')
	// Whatever else reached the text from a file or the network.
	_, err := io.WriteString(w, results.PrintableText(b.String()))
	return err
}

// splitNotes sorts the runs' notes for the text: those every run has
// (with several runs) are common, shown once; the rest are each run's own.
// Notes that report that nothing happened (IsNothingNote) are left out.
func splitNotes(runs []results.Run) (common []string, own [][]string) {
	own = make([][]string, len(runs))
	in := map[string]int{} // note -> how many runs have it
	for _, r := range runs {
		seen := map[string]bool{}
		for _, n := range r.Notes {
			if !seen[n] {
				seen[n] = true
				in[n]++
			}
		}
	}
	done := map[string]bool{}
	for i, r := range runs {
		for _, n := range r.Notes {
			switch {
			case IsNothingNote(n):
			case len(runs) > 1 && in[n] == len(runs):
				if !done[n] {
					done[n] = true
					common = append(common, n)
				}
			default:
				own[i] = append(own[i], n)
			}
		}
	}
	return common, own
}

func statusClasses(doc *results.Document) []string {
	seen := map[string]bool{}
	for _, r := range doc.Runs {
		for k := range r.Statuses {
			seen[k] = true
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cellsG(groups []results.Group, f func(g results.Group) string) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = f(g)
	}
	return out
}

func failureClasses(doc *results.Document) []string {
	seen := map[string]bool{}
	for _, r := range doc.Runs {
		for k, v := range r.Failures {
			if v > 0 {
				seen[k] = true
			}
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func anyRun(doc *results.Document, f func(r *results.Run) bool) bool {
	for i := range doc.Runs {
		if f(&doc.Runs[i]) {
			return true
		}
	}
	return false
}

func anyPhase(doc *results.Document, ph string) bool {
	for _, r := range doc.Runs {
		if p, ok := r.Phases[ph]; ok && p.Count > 0 {
			return true
		}
	}
	return false
}

func anyListener(doc *results.Document) bool {
	for _, r := range doc.Runs {
		if r.Listener != nil {
			return true
		}
	}
	return false
}

// NothingNote begins a note that reports that nothing happened ("no
// exhaustion expected, none seen"): kept in the JSON for the record, left
// out of the text.
const NothingNote = "nothing happened: "

// IsNothingNote reports whether note n reports that nothing happened.
func IsNothingNote(n string) bool { return strings.HasPrefix(n, NothingNote) }

// atStart says which sockets a socket-state peak of k counts: only the
// run's (its own network namespace), or the shared namespace's, n of them
// (sockets) there before the run began. "" for a result without Scope.
func atStart(k *results.Kernel, n int) string {
	switch k.Scope {
	case "namespace":
		return " (own namespace)"
	case "host":
		return fmt.Sprintf(" (%s present at start)", Count(int64(n)))
	}
	return ""
}

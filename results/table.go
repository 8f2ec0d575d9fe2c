package results

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// PhaseOrder is the order phases are shown in.
var PhaseOrder = []string{"handshake", "first_byte", "response", "transaction", "scheduled", "start_lag",
	"connect_first_byte", "connect_first_byte_cold", "connect_first_byte_warm"}

var phaseTitle = map[string]string{
	"handshake":               "handshake",
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
func Headline(doc *Document) []string {
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
	return out
}

// find returns the median run of the one variant that ran workload, or nil
// when none or several did.
func find(doc *Document, workload string) *Run {
	var found *Run
	for _, g := range Groups(doc) {
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
func WriteTable(w io.Writer, doc *Document) error {
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
	groups := Groups(doc)
	// view is what the table shows: one column per variant, its figures
	// the medians of its repetitions.
	view := &Document{Runs: make([]Run, len(groups))}
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
		fmt.Fprintf(tw, "%s\t", Printable(label))
		for _, c := range cells {
			fmt.Fprintf(tw, "%s\t", Printable(c))
		}
		tw.Write([]byte{'\n'})
	}
	cells := func(f func(r *Run) string) []string {
		out := make([]string, len(view.Runs))
		for i := range view.Runs {
			out[i] = f(&view.Runs[i])
		}
		return out
	}
	row("", cells(func(r *Run) string {
		if r.Partial {
			return r.Label + " (partial)"
		}
		return r.Label
	})...)
	if repeated {
		row("runs (medians shown)", cellsG(groups, func(g Group) string { return Count(int64(len(g.Runs))) })...)
	}
	row("duration", cells(func(r *Run) string { return Dur(r.DurationNs) })...)
	row("transactions/s", cells(func(r *Run) string { return Count(int64(math.Round(r.Rates.TransactionsPerSec))) })...)
	if repeated {
		row("  min–max", cellsG(groups, func(g Group) string {
			lo, hi := g.Range(rate)
			return Count(int64(math.Round(lo))) + "–" + Count(int64(math.Round(hi)))
		})...)
	}
	if len(groups) > 1 {
		row("vs "+groups[0].Label, cellsG(groups, func(g Group) string {
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
	row("new connections/s", cells(func(r *Run) string { return Count(int64(math.Round(r.Rates.ConnsPerSec))) })...)
	row("transactions", cells(func(r *Run) string { return Count(r.Counts.Transactions) })...)
	row("connections", cells(func(r *Run) string { return Count(r.Counts.Connections) })...)
	row("failures", cells(func(r *Run) string { return Count(r.FailuresTotal) })...)
	for _, class := range failureClasses(view) {
		row("failures "+class, cells(func(r *Run) string { return Count(r.Failures[class]) })...)
	}
	for _, st := range statusClasses(view) {
		row("answered "+st, cells(func(r *Run) string { return Count(r.Statuses[st]) })...)
	}
	for _, ph := range PhaseOrder {
		if !anyPhase(view, ph) {
			continue
		}
		for i, pc := range []struct {
			name string
			get  func(p Phase) int64
		}{
			{"p50", func(p Phase) int64 { return p.P50Ns }},
			{"p90", func(p Phase) int64 { return p.P90Ns }},
			{"p99", func(p Phase) int64 { return p.P99Ns }},
			{"p99.9", func(p Phase) int64 { return p.P999Ns }},
			{"max", func(p Phase) int64 { return p.MaxNs }},
		} {
			label := pc.name
			if i == 0 {
				label = phaseTitle[ph] + " " + pc.name
			}
			row(label, cells(func(r *Run) string {
				p, ok := r.Phases[ph]
				if !ok || p.Count == 0 {
					return "—"
				}
				return Dur(pc.get(p))
			})...)
		}
	}
	if anyRun(view, func(r *Run) bool { return r.Schedule != nil }) {
		row("schedule behind", cells(func(r *Run) string {
			if r.Schedule == nil {
				return "—"
			}
			return Count(r.Schedule.Behind)
		})...)
	}
	for _, band := range []string{"lt50", "50_75", "75_90", "90_100"} {
		if !anyRun(view, func(r *Run) bool { _, ok := r.ConnectCall[band]; return ok }) {
			continue
		}
		row("connect() p50/p99, ports "+bandTitle[band], cells(func(r *Run) string {
			p, ok := r.ConnectCall[band]
			if !ok {
				return "—"
			}
			return Dur(p.P50Ns) + " / " + Dur(p.P99Ns)
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.Kernel != nil && r.Kernel.Samples > 0 }) {
		row("TIME_WAIT peak", cells(func(r *Run) string {
			if r.Kernel == nil || r.Kernel.Samples == 0 {
				return "—"
			}
			return Count(int64(r.Kernel.PeakStates["time_wait"]))
		})...)
		row("ports in use peak", cells(func(r *Run) string {
			if r.Kernel == nil || r.Kernel.Samples == 0 {
				return "—"
			}
			s := Count(int64(r.Kernel.PeakPortsInUse))
			if n := r.Kernel.PortRangeSize * max(r.Kernel.Sources, 1); n > 0 {
				s += fmt.Sprintf(" of %s", Count(int64(n)))
			}
			return s
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.Exhaustion != nil }) {
		row("predicted exhaustion", cells(func(r *Run) string {
			if r.Exhaustion == nil || r.Exhaustion.PredictedNs < 0 {
				return "none"
			}
			return "at " + Dur(r.Exhaustion.PredictedNs)
		})...)
		row("first EADDRNOTAVAIL", cells(func(r *Run) string {
			if r.Exhaustion == nil || r.Exhaustion.FirstAddrNotAvailNs < 0 {
				return "never"
			}
			return "at " + Dur(r.Exhaustion.FirstAddrNotAvailNs)
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.Flood != nil }) {
		row("spoofed SYNs sent", cells(func(r *Run) string {
			if r.Flood == nil {
				return "—"
			}
			return fmt.Sprintf("%s (%s/s asked)", Count(r.Flood.Sent), Count(int64(r.Flood.RatePerSec)))
		})...)
		row("legitimate success", cells(func(r *Run) string {
			if f := r.SuccessShare(); f >= 0 {
				return fmt.Sprintf("%.1f%% (%s unfinished)", 100*f, Count(r.Unfinished()))
			}
			return "—"
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.Hold != nil }) {
		hold := func(f func(h *Hold) string) []string {
			return cells(func(r *Run) string {
				if r.Hold == nil {
					return "—"
				}
				return f(r.Hold)
			})
		}
		row("held at the end", hold(func(h *Hold) string {
			return fmt.Sprintf("%s of %s (opened %s)", Count(h.Held), Count(h.Asked), Count(h.Opened))
		})...)
		row("time to open", hold(func(h *Hold) string {
			if h.OpenNs < 0 {
				return "not finished"
			}
			return Dur(h.OpenNs)
		})...)
		row("user memory / connection", hold(func(h *Hold) string {
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
		row("kernel TCP slab / connection", hold(func(h *Hold) string {
			if h.Opened == 0 || h.KernelSlabBytes < 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f B (both ends)", float64(h.KernelSlabBytes)/float64(h.Opened))
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.TCPInfo != nil && r.TCPInfo.FastOpen > 0 }) {
		row("SYN carried the request", cells(func(r *Run) string {
			if f := r.TCPInfo.SYNDataShare(); f >= 0 {
				return fmt.Sprintf("%s of %s (%.1f%%)", Count(r.TCPInfo.SYNData), Count(r.TCPInfo.FastOpen), 100*f)
			}
			return "—"
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.TCPInfo != nil && r.TCPInfo.Handshakes > 0 }) {
		row("handshakes with SYN retransmitted", cells(func(r *Run) string {
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
	if anyRun(view, func(r *Run) bool { return r.Path != nil }) {
		row("path", cells(func(r *Run) string {
			if r.Path == nil {
				return "loopback"
			}
			return r.Path.Describe()
		})...)
		row("path added delay p50/p99", cells(func(r *Run) string {
			if r.Path == nil || r.Path.AddedDelay == nil || r.Path.AddedDelay.Count == 0 {
				return "—"
			}
			return Dur(r.Path.AddedDelay.P50Ns) + " / " + Dur(r.Path.AddedDelay.P99Ns)
		})...)
		row("path drops asked/unasked", cells(func(r *Run) string {
			if r.Path == nil {
				return "—"
			}
			return Count(r.Path.DroppedLoss+r.Path.DroppedSYN) + " / " + Count(r.Path.Unrequested())
		})...)
	}
	counterRows := func(prefix string, get func(r *Run) map[string]int64) {
		for _, k := range TableCounters {
			if !anyRun(view, func(r *Run) bool { return get(r)[k] != 0 }) {
				continue
			}
			row(prefix+k, cells(func(r *Run) string {
				if get(r) == nil {
					return "—"
				}
				return Count(get(r)[k])
			})...)
		}
	}
	counterRows("Δ ", func(r *Run) map[string]int64 {
		if r.Kernel == nil {
			return nil
		}
		return r.Kernel.Counters
	})
	row("client CPU µs/txn (user+sys)", cells(func(r *Run) string {
		if r.Counts.Transactions == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f+%.2f", float64(r.CPU.UserNs)/float64(r.Counts.Transactions)/1e3,
			float64(r.CPU.SysNs)/float64(r.Counts.Transactions)/1e3)
	})...)
	for _, st := range []string{"syn_recv", "established", "close_wait"} {
		if !anyRun(view, func(r *Run) bool { return r.Listener != nil && r.Listener.PeakStates[st] > 0 }) {
			continue
		}
		row("listener "+strings.ToUpper(st)+" peak", cells(func(r *Run) string {
			if r.Listener == nil || r.Listener.PeakStates == nil {
				return "—"
			}
			return Count(int64(r.Listener.PeakStates[st]))
		})...)
	}
	if anyRun(view, func(r *Run) bool { return r.Listener != nil && r.Listener.Leaked > 0 }) {
		row("listener leaked (CLOSE_WAIT)", cells(func(r *Run) string {
			if r.Listener == nil {
				return "—"
			}
			return Count(r.Listener.Leaked)
		})...)
		row("listener descriptors peak", cells(func(r *Run) string {
			if r.Listener == nil {
				return "—"
			}
			return Count(r.Listener.PeakDescriptors)
		})...)
	}
	counterRows("listener ns Δ ", func(r *Run) map[string]int64 {
		if r.Listener == nil {
			return nil
		}
		return r.Listener.Counters
	})
	if anyListener(view) {
		row("listener CPU µs/txn (user+sys)", cells(func(r *Run) string {
			if r.Listener == nil || r.Counts.Transactions == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f+%.2f", float64(r.Listener.CPUUserNs)/float64(r.Counts.Transactions)/1e3,
				float64(r.Listener.CPUSysNs)/float64(r.Counts.Transactions)/1e3)
		})...)
	}
	tw.Flush()
	if len(groups) > 1 {
		for _, g := range groups[1:] {
			fmt.Fprintf(&b, "\n%s vs %s: %s", Printable(g.Label), Printable(groups[0].Label), Printable(Verdict(groups[0], g)))
		}
		b.WriteByte('\n')
	}
	for _, r := range view.Runs {
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "\nnote (%s): %s", Printable(r.Label), Printable(n))
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
	_, err := io.WriteString(w, PrintableText(b.String()))
	return err
}

func statusClasses(doc *Document) []string {
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

func cellsG(groups []Group, f func(g Group) string) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = f(g)
	}
	return out
}

func failureClasses(doc *Document) []string {
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

func anyRun(doc *Document, f func(r *Run) bool) bool {
	for i := range doc.Runs {
		if f(&doc.Runs[i]) {
			return true
		}
	}
	return false
}

func anyPhase(doc *Document, ph string) bool {
	for _, r := range doc.Runs {
		if p, ok := r.Phases[ph]; ok && p.Count > 0 {
			return true
		}
	}
	return false
}

func anyListener(doc *Document) bool {
	for _, r := range doc.Runs {
		if r.Listener != nil {
			return true
		}
	}
	return false
}

// Dur formats nanoseconds with three significant digits and a unit
// (ns, µs, ms, s), rounding before the unit is chosen (999,999 ns is
// "1.00 ms", not "1000 µs").
func Dur(ns int64) string {
	if ns < 1000 && ns > -1000 {
		return fmt.Sprintf("%d ns", ns)
	}
	v := float64(ns) / 1e3
	for _, unit := range []string{"µs", "ms"} {
		if r := round3(v); math.Abs(r) < 1000 {
			return sig3(r) + " " + unit
		}
		v /= 1e3
	}
	return sig3(round3(v)) + " s"
}

// round3 rounds v to three significant digits.
func round3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}

func signedDur(ns int64) string {
	if ns < 0 {
		return "−" + Dur(-ns)
	}
	return Dur(ns)
}

func sig3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Count formats an integer with thousands separators.
func Count(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Seconds formats a duration for prose ("5s", "1m30s").
func Seconds(d time.Duration) string { return d.Round(time.Millisecond).String() }

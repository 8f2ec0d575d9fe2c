package view

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/connbench/connbench/results"
)

// The pooling curve's views: a table in the text report and two charts in
// the HTML one, for a compare that varied requests-per-conn or
// max-conn-age (results.PoolingCurves).

// writeCurves writes each pooling curve of doc as a table, one row per
// reuse value, least reuse first, the knee marked, then the document's
// notes on the curves.
func writeCurves(b *strings.Builder, doc *results.Document) {
	curves := results.PoolingCurves(doc)
	for _, c := range curves {
		title := "pooling curve: " + c.Key
		if c.Others != "" {
			title += " (" + c.Others + ")"
		}
		b.WriteString("\n" + results.Printable(title) + "\n")
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\ttransactions/s\tvs pool\ttxn p50\ttxn p99\tclient CPU µs/txn\tnew conns/s\tTIME_WAIT peak\t\n", c.Key)
		for i, p := range c.Points {
			vs := "—"
			if c.Pool >= 0 && c.Points[c.Pool].TransactionsPerSec > 0 {
				vs = fmt.Sprintf("%.0f%%", 100*p.TransactionsPerSec/c.Points[c.Pool].TransactionsPerSec)
			}
			tw2 := "—"
			if p.TimeWaitPeak >= 0 {
				tw2 = Count(p.TimeWaitPeak)
				if p.TimeWaitAtStart > 0 {
					tw2 += " (" + Count(p.TimeWaitAtStart) + " at start)"
				}
			}
			cpu := "—"
			if p.CPUNsPerTransaction > 0 {
				cpu = fmt.Sprintf("%.2f", p.CPUNsPerTransaction/1e3)
			}
			mark := ""
			switch {
			case i == c.Knee && i == c.Pool:
				mark = "pool; no knee: nothing less within 10%"
			case i == c.Knee:
				mark = "← knee"
			case i == c.Pool:
				mark = "pool"
			}
			if p.Failures > 0 {
				mark = strings.TrimSpace(mark + " " + Count(p.Failures) + " failures")
			}
			if mark != "" {
				mark = "  " + mark
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", results.Printable(p.Value), Count(int64(math.Round(p.TransactionsPerSec))), vs,
				durOrDash(p.P50Ns), durOrDash(p.P99Ns), cpu, Count(int64(math.Round(p.ConnsPerSec))), tw2, mark)
		}
		tw.Flush()
		switch {
		case c.Pool < 0:
			b.WriteString("knee: not marked, no inf variant to stand for the pool\n")
		case c.Knee != c.Pool:
			fmt.Fprintf(b, "knee: the least %s within 10%% of the pool's (inf) rate\n", c.Key)
		}
	}
	if len(curves) > 0 {
		for _, n := range doc.CurveNotes {
			fmt.Fprintf(b, "note: %s\n", results.Printable(n))
		}
	}
}

func durOrDash(ns int64) string {
	if ns <= 0 {
		return "—"
	}
	return Dur(ns)
}

// poolingRows are the main table's rows on the pool's connections: those
// recycled at a limit, closed by the server and retried, and the built-in
// listener's idle closes; none when no run has them.
func poolingRows(runs []results.Run) [][]string {
	var out [][]string
	pooling := func(f func(p *results.Pooling) int64) []string {
		cells := make([]string, len(runs))
		for i := range runs {
			if runs[i].Pooling == nil {
				cells[i] = "—"
				continue
			}
			cells[i] = Count(f(runs[i].Pooling))
		}
		return cells
	}
	if anyRun(&results.Document{Runs: runs}, func(r *results.Run) bool { return r.Pooling != nil }) {
		out = append(out,
			append([]string{"connections recycled"}, pooling(func(p *results.Pooling) int64 { return p.Recycled })...),
			append([]string{"closed by the server"}, pooling(func(p *results.Pooling) int64 { return p.ServerClosed })...),
			append([]string{"  retried on a new one"}, pooling(func(p *results.Pooling) int64 { return p.Retried })...))
	}
	if anyRun(&results.Document{Runs: runs}, func(r *results.Run) bool { return r.Listener != nil && r.Listener.IdleCloseNs > 0 }) {
		cells := []string{"listener closed idle"}
		for _, r := range runs {
			if r.Listener == nil || r.Listener.IdleCloseNs == 0 {
				cells = append(cells, "—")
				continue
			}
			cells = append(cells, Count(r.Listener.IdleClosed)+" (after "+Dur(r.Listener.IdleCloseNs)+")")
		}
		out = append(out, cells)
	}
	return out
}

// writeCurveCharts draws each pooling curve: transactions/s against reuse,
// and transaction latency against reuse, both on a log x axis; the pool
// (inf) is a horizontal line, as it has no place on that axis.
func writeCurveCharts(b *bytes.Buffer, id string, doc *results.Document) {
	curves := results.PoolingCurves(doc)
	if len(curves) == 0 {
		return
	}
	b.WriteString("<h3>Pooling curve</h3>\n<p class=\"meta\">How much reuse is enough: each variant recycles its pooled connections after the reuse on the x axis (log scale); the pool that never reconnects (inf) is the labelled horizontal line. The knee is the least reuse within 10% of the pool's rate.</p>\n<div class=\"grid\">\n")
	for ci, c := range curves {
		xTitle := c.Key + " (transactions per connection, log scale)"
		if c.Key == "max-conn-age" {
			xTitle = c.Key + " (seconds, log scale)"
		}
		suffix := ""
		if c.Others != "" {
			suffix = " (" + c.Others + ")"
		}
		var fin []results.CurvePoint
		for _, p := range c.Points {
			if !math.IsInf(p.Reuse, 1) {
				fin = append(fin, p)
			}
		}
		rate := chart{id: fmt.Sprintf("%s-curve-%d-rate", id, ci), title: "Transactions/s by reuse" + suffix,
			x: axis{title: xTitle, log: true, format: trimFloat}, y: axis{title: "transactions/s", zero: true, format: tickCount}}
		tx := line{name: "transactions/s", color: colour(0), markers: true}
		cn := line{name: "new connections/s", color: colour(1), markers: true, dash: "2 3", width: 1.5}
		for _, p := range fin {
			tx.x, tx.y = append(tx.x, p.Reuse), append(tx.y, p.TransactionsPerSec)
			cn.x, cn.y = append(cn.x, p.Reuse), append(cn.y, p.ConnsPerSec)
		}
		tx.tip = func(k int) string {
			p := fin[k]
			return fmt.Sprintf("%s=%s: %s transactions/s, %s new connections/s", c.Key, p.Value,
				Count(int64(math.Round(p.TransactionsPerSec))), Count(int64(math.Round(p.ConnsPerSec))))
		}
		rate.lines = append(rate.lines, tx, cn)
		if c.Pool >= 0 {
			pool := c.Points[c.Pool]
			rate.limits = append(rate.limits, hline{y: pool.TransactionsPerSec, color: "#444",
				label: "pool (inf): " + Count(int64(math.Round(pool.TransactionsPerSec))) + "/s"})
			if c.Knee >= 0 && c.Knee != c.Pool {
				k := c.Points[c.Knee]
				rate.lines = append(rate.lines, line{name: "knee: " + c.Key + "=" + k.Value, color: "#d62728", markers: true, width: 3,
					x: []float64{k.Reuse}, y: []float64{k.TransactionsPerSec}})
			}
		}
		writeFigure(b, &rate)

		lat := chart{id: fmt.Sprintf("%s-curve-%d-latency", id, ci), title: "Transaction latency by reuse: p99 (solid) and p50 (dashed)" + suffix,
			x: axis{title: xTitle, log: true, format: trimFloat}, y: axis{title: "latency (log scale)", log: true, format: tickDur}}
		p99 := line{name: "p99", color: colour(0), markers: true}
		p50 := line{name: "p50", color: colour(0), markers: true, dash: "5 4", width: 1.5}
		for _, p := range fin {
			if p.P99Ns > 0 {
				p99.x, p99.y = append(p99.x, p.Reuse), append(p99.y, float64(p.P99Ns))
			}
			if p.P50Ns > 0 {
				p50.x, p50.y = append(p50.x, p.Reuse), append(p50.y, float64(p.P50Ns))
			}
		}
		lat.lines = append(lat.lines, p99, p50)
		if c.Pool >= 0 && c.Points[c.Pool].P99Ns > 0 {
			lat.limits = append(lat.limits, hline{y: float64(c.Points[c.Pool].P99Ns), color: "#444",
				label: "pool (inf) p99 " + Dur(c.Points[c.Pool].P99Ns)})
		}
		writeFigure(b, &lat)
	}
	b.WriteString("</div>\n")
}

package explain

import (
	"fmt"
	"math"
	"strings"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
)

// CurveNotes interpret the pooling curves of a compare that varied
// requests-per-conn or max-conn-age: how much reuse gets within 10% of a
// pool (the knee), and what the requests below it pay. Nil when doc has no
// curve.
func CurveNotes(doc *results.Document) []string {
	var out []string
	for _, c := range results.PoolingCurves(doc) {
		if n := curveNote(c); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func curveNote(c results.Curve) string {
	where := ""
	if c.Others != "" {
		where = " (" + c.Others + ")"
	}
	pts := c.Points
	if c.Pool < 0 {
		return fmt.Sprintf("pooling curve%s: no %s=inf variant, so no pool to measure the knee against: add inf to the values", where, c.Key)
	}
	pool := pts[c.Pool]
	least := pts[0]
	rate := func(p results.CurvePoint) string {
		return view.Count(int64(math.Round(p.TransactionsPerSec))) + "/s"
	}
	var b strings.Builder
	switch {
	case c.Knee == c.Pool:
		largest := pts[max(c.Pool-1, 0)]
		fmt.Fprintf(&b, "pooling curve%s: no finite %s tried gets within 10%% of a pool's %s; the most reuse tried, %s, reaches %s: try larger values",
			where, c.Key, rate(pool), largest.Value, rate(largest))
	case c.Knee == 0:
		fmt.Fprintf(&b, "pooling curve%s: even %s=%s is within 10%% of a pool (%s vs %s): new connections cost little against what limits this rate (the server, or CPUs shared with the built-in listener)",
			where, c.Key, least.Value, rate(least), rate(pool))
	default:
		knee := pts[c.Knee]
		fmt.Fprintf(&b, "pooling curve%s: %s=%s gets within 10%% of a pool (%s vs %s); below that more requests pay a handshake: at %s, %s with %s new connections/s",
			where, c.Key, knee.Value, rate(knee), rate(pool), least.Value, rate(least), view.Count(int64(math.Round(least.ConnsPerSec))))
		if least.P50Ns > 0 && pool.P50Ns > 0 {
			fmt.Fprintf(&b, ", transaction p50 %s against the pool's %s", view.Dur(least.P50Ns), view.Dur(pool.P50Ns))
		}
		if least.CPUNsPerTransaction > 0 && pool.CPUNsPerTransaction > 0 {
			fmt.Fprintf(&b, " and %.1f× its client CPU per transaction", least.CPUNsPerTransaction/pool.CPUNsPerTransaction)
		}
	}
	if least.TimeWaitPeak > 2*least.TimeWaitAtStart && c.Knee != 0 {
		fmt.Fprintf(&b, "; at %s the client's TIME_WAIT peaked at %s sockets (--close rst leaves none, at the price of a reset per connection)",
			least.Value, view.Count(least.TimeWaitPeak))
	}
	return b.String()
}

// poolingNotes explain a pool's server closes: requests retried because
// they met a connection the server had closed, and a server that closes
// connections sooner than the client's own limit.
func poolingNotes(r *results.Run) []string {
	p := r.Pooling
	if p == nil || p.ServerClosed == 0 {
		return nil
	}
	var out []string
	if p.Retried > 0 {
		out = append(out, fmt.Sprintf("%s requests met a pooled connection the server had closed, got nothing back and were retried once on a new connection: counted as transactions (with the new handshake in their latency), not as failures",
			view.Count(p.Retried)))
	}
	if p.Recycled < p.ServerClosed {
		out = append(out, fmt.Sprintf("the server closed %s pooled connections (a keep-alive timeout or request limit, such as nginx's keepalive_requests) against %s the client recycled: the server's limit, not the client's, set how much this pool reused",
			view.Count(p.ServerClosed), view.Count(p.Recycled)))
	}
	return out
}

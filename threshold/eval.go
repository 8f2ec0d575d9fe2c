package threshold

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/stats"
)

// Evaluate evaluates each expression on each group: an absolute one on the
// median of the group's runs, a regression against base[i], the baseline
// of groups[i] (a group without runs: none, and the regression is not
// evaluated for that group). The outcomes are in expression order, then
// group order.
func Evaluate(exprs []Expr, groups []results.Group, base []results.Group) []results.Threshold {
	var out []results.Threshold
	for _, e := range exprs {
		for i, g := range groups {
			var b results.Group
			if i < len(base) {
				b = base[i]
			}
			if e.Regression && len(b.Runs) == 0 {
				continue // the baseline itself, or a variant with none
			}
			out = append(out, evaluate(e, g, b))
		}
	}
	return out
}

func evaluate(e Expr, g, base results.Group) results.Threshold {
	m := e.Metric
	t := results.Threshold{Expr: e.Text, Variant: g.Label, Metric: m.Name, Unit: unitName(m.Kind), Limit: e.Limit}
	vals := stats.Values(m, g.Runs)
	t.Runs = len(vals)
	if len(vals) == 0 {
		t.Skipped = true
		t.Detail = fmt.Sprintf("not evaluated: no run has %s", m.Name)
		return t
	}
	if e.Regression {
		return regression(e, t, vals, base)
	}
	t.Value = stats.Summarize(vals).Center
	t.Failed = holds(t.Value, e.Op, e.Limit)
	of := ""
	if len(vals) > 1 {
		of = fmt.Sprintf(" (median of %d runs)", len(vals))
	}
	if t.Failed {
		t.Over = math.Abs(t.Value - e.Limit)
		side := "over"
		if e.Op[0] == '<' {
			side = "under"
		}
		t.Detail = fmt.Sprintf("%s = %s%s %s %s: %s by %s", m.Name, Format(m.Kind, t.Value), of, e.Op, Format(m.Kind, e.Limit), side, Format(m.Kind, t.Over))
	} else {
		t.Detail = fmt.Sprintf("%s = %s%s, not %s %s", m.Name, Format(m.Kind, t.Value), of, e.Op, Format(m.Kind, e.Limit))
	}
	return t
}

func regression(e Expr, t results.Threshold, vals []float64, base results.Group) results.Threshold {
	m := e.Metric
	t.Unit = "change"
	bv := stats.Values(m, base.Runs)
	t.BaselineRuns = len(bv)
	if len(bv) == 0 {
		t.Skipped = true
		t.Detail = fmt.Sprintf("not evaluated: no baseline run (%s) has %s", base.Label, m.Name)
		return t
	}
	c := stats.Compare(bv, vals)
	worse := c.Delta
	if math.IsNaN(worse) { // from 0 to something
		worse = math.Inf(1)
		if c.New.Center < 0 {
			worse = math.Inf(-1)
		}
	}
	if !m.HigherIsWorse {
		worse = -worse
	}
	t.Value, t.P = worse, c.P
	if math.IsInf(worse, 0) {
		t.Value = math.Copysign(math.MaxFloat64, worse) // JSON has no infinity
	}
	change := fmt.Sprintf("%s %s → %s (%s worse, p=%.3f, %d+%d runs)", m.Name, Format(m.Kind, c.Base.Center), Format(m.Kind, c.New.Center),
		signedPct(worse), c.P, len(bv), len(vals))
	limit := strconv.FormatFloat(100*e.Limit, 'g', -1, 64) + "%"
	switch {
	case !c.Testable:
		t.Detail = fmt.Sprintf("%s: not significant, and cannot be with %d+%d runs (the U test needs %d per side to reach p < %g)",
			change, len(bv), len(vals), stats.MinForTest, stats.Alpha)
	case !c.Significant:
		t.Detail = fmt.Sprintf("%s: not significant at alpha %g", change, stats.Alpha)
	case holds(worse, e.Op, e.Limit):
		t.Failed = true
		t.Over = worse - e.Limit
		if math.IsInf(t.Over, 0) {
			t.Over = math.MaxFloat64
		}
		t.Detail = fmt.Sprintf("%s: significant, %s %s", change, e.Op, limit)
	default:
		t.Detail = fmt.Sprintf("%s: significant, but not %s %s", change, e.Op, limit)
	}
	return t
}

func holds(v float64, op string, limit float64) bool {
	switch op {
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	}
	return false
}

func unitName(k stats.Kind) string {
	return map[stats.Kind]string{stats.Latency: "ns", stats.PerSec: "per_sec", stats.Count: "count", stats.Share: "share"}[k]
}

func signedPct(x float64) string {
	switch {
	case math.IsInf(x, 0):
		return "∞"
	case math.Abs(x) < 0.0005:
		return "0.0%" // no "-0.0%"
	}
	return fmt.Sprintf("%+.1f%%", 100*x)
}

// Format shows a value of kind k: a duration, a rate, a count or a percent.
func Format(k stats.Kind, v float64) string {
	switch k {
	case stats.Latency:
		return fmtDur(v)
	case stats.PerSec:
		return plain(v) + "/s"
	case stats.Share:
		return strconv.FormatFloat(100*v, 'g', 4, 64) + "%"
	}
	return plain(v)
}

// plain is v whole when it is large, else with 4 significant digits.
func plain(v float64) string {
	if math.Abs(v) >= 1e9 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	if math.Abs(v) >= 1000 || v == math.Trunc(v) {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func fmtDur(ns float64) string {
	switch a := math.Abs(ns); {
	case a >= 1e9:
		return strconv.FormatFloat(ns/1e9, 'g', 4, 64) + "s"
	case a >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'g', 4, 64) + "ms"
	case a >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'g', 4, 64) + "µs"
	}
	return time.Duration(math.Round(ns)).String()
}

// Failed returns a FailedError when some outcome failed, else nil.
func Failed(ts []results.Threshold) error {
	n := 0
	for _, t := range ts {
		if t.Failed {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return &FailedError{Failed: n, Total: len(ts)}
}

// FailedError is a run, comparison or report whose thresholds failed: not
// an error of the tool, an outcome with an exit status of its own.
type FailedError struct{ Failed, Total int }

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d thresholds failed (--fail-on)", e.Failed, e.Total)
}

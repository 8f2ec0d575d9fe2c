package view

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/stats"
)

// WriteStats renders t: per metric each variant's median with its 95%
// interval (±x%, ±∞ when the runs are too few for one), and for each
// variant after the first the change of the medians against the first,
// "~" when the Mann-Whitney U test finds no significant difference at
// alpha 0.05. A line per pair then names the significant changes.
func WriteStats(b *strings.Builder, t stats.Table) {
	if len(t.Labels) < 2 {
		return
	}
	base := results.Printable(t.Labels[0])
	fmt.Fprintf(b, "Statistics over %s per variant: median ± 95%% interval; vs %s: change of the medians, ~ when not significant (Mann-Whitney U, alpha %g)\n",
		runsText(t.Runs), base, stats.Alpha)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t%s\t", base)
	for _, l := range t.Labels[1:] {
		fmt.Fprintf(tw, "%s\tvs %s\t", results.Printable(l), base)
	}
	fmt.Fprintln(tw)
	thin := false
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			thin = thin || c.Thin
		}
		fmt.Fprintf(tw, "%s\t%s\t", r.Metric.Title, summaryText(r.Metric, r.Cells[0]))
		for _, c := range r.Cells[1:] {
			fmt.Fprintf(tw, "%s\t%s\t", summaryText(r.Metric, c), changeText(c.Change))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for i, l := range t.Labels[1:] {
		fmt.Fprintf(b, "\n%s vs %s: %s", results.Printable(l), base, pairVerdict(t, i+1))
	}
	b.WriteByte('\n')
	if t.TooFew != "" {
		fmt.Fprintf(b, "note: %s\n", t.TooFew)
	}
	if thin {
		fmt.Fprintf(b, "note: * a run had fewer than %d samples above this percentile (under 1,000 for a p99, 10,000 for a p99.9): it is one of a handful of values, and a change in it says little\n", stats.MinTail)
	}
}

// runsText is "6", or "6, 5" when the variants differ.
func runsText(n []int) string {
	same := true
	var parts []string
	for _, x := range n {
		same = same && x == n[0]
		parts = append(parts, fmt.Sprint(x))
	}
	switch {
	case same && n[0] == 1:
		return "1 run"
	case same:
		return parts[0] + " runs"
	}
	return strings.Join(parts, ", ") + " runs"
}

func metricValue(m stats.Metric, v float64) string {
	switch m.Kind {
	case stats.Latency:
		return Dur(int64(math.Round(v)))
	case stats.Share:
		return fmt.Sprintf("%.3g%%", 100*v)
	case stats.Count, stats.PerSec:
		if math.Abs(v) < 100 && v != math.Trunc(v) {
			return fmt.Sprintf("%.3g", v)
		}
		return Count(int64(math.Round(v)))
	}
	return fmt.Sprint(v)
}

func summaryText(m stats.Metric, c stats.Cell) string {
	if !c.Has {
		return "—"
	}
	if c.Thin {
		c.Thin = false
		return summaryText(m, c) + " *"
	}
	s := c.Summary
	hw := s.HalfWidth()
	switch {
	case math.IsInf(hw, 1):
		return metricValue(m, s.Center) + " ±∞"
	case math.IsNaN(hw):
		return fmt.Sprintf("%s [%s, %s]", metricValue(m, s.Center), metricValue(m, s.Lo), metricValue(m, s.Hi))
	}
	return fmt.Sprintf("%s ±%.0f%%", metricValue(m, s.Center), 100*hw)
}

func changeText(c *stats.Change) string {
	switch {
	case c == nil:
		return ""
	case !c.Significant:
		return fmt.Sprintf("~ (p=%.3f)", c.P)
	case math.IsNaN(c.Delta):
		return fmt.Sprintf("from 0 (p=%.3f)", c.P)
	}
	return fmt.Sprintf("%+.2f%% (p=%.3f)", 100*c.Delta, c.P)
}

// pairVerdict names the significant changes of variant i against the
// baseline, or says there are none, or that none could be.
func pairVerdict(t stats.Table, i int) string {
	var better, worse []string
	testable := false
	for _, r := range t.Rows {
		c := r.Cells[i].Change
		if c == nil {
			continue
		}
		testable = testable || c.Testable
		if !c.Significant {
			continue
		}
		d := c.Delta
		s := fmt.Sprintf("%s %s", r.Metric.Title, strings.TrimSuffix(changeText(c), fmt.Sprintf(" (p=%.3f)", c.P)))
		if r.Cells[0].Thin || r.Cells[i].Thin {
			s += " *"
		}
		if (d > 0 || math.IsNaN(d)) == r.Metric.HigherIsWorse {
			worse = append(worse, s)
		} else {
			better = append(better, s)
		}
	}
	n := fmt.Sprintf("%d+%d runs", t.Runs[0], t.Runs[i])
	switch {
	case !testable:
		return fmt.Sprintf("no verdict: %s are too few for any difference to be significant (the U test needs %d per variant)", n, stats.MinForTest)
	case len(better)+len(worse) == 0:
		return fmt.Sprintf("no significant difference (%s, alpha %g)", n, stats.Alpha)
	}
	var parts []string
	if len(better) > 0 {
		parts = append(parts, "better: "+strings.Join(better, ", "))
	}
	if len(worse) > 0 {
		parts = append(parts, "worse: "+strings.Join(worse, ", "))
	}
	return fmt.Sprintf("significant (%s, alpha %g): %s", n, stats.Alpha, strings.Join(parts, "; "))
}

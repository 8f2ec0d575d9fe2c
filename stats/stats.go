// Package stats says whether the difference between two sets of runs is
// real: for each metric (transactions/s, failures, phase percentiles, CPU
// per transaction) the median of the repetitions with its 95% confidence
// interval, and for a pair of variants the change of the medians with a
// Mann-Whitney U test at alpha 0.05, as benchstat does.
//
// The statistics are golang.org/x/perf/benchmath's (AssumeNothing: no
// assumption about the distribution, which latency percentiles and rates
// under load do not follow reliably). With too few repetitions no interval
// is finite and no difference can be significant; the results say so
// rather than print a verdict. The package reads runs through the results
// model and never prints.
package stats

import (
	"fmt"
	"math"
	"slices"

	"github.com/connbench/connbench/results"
	"golang.org/x/perf/benchmath"
)

// Confidence is the level of the intervals; Alpha the significance level
// of the tests.
const (
	Confidence = 0.95
	Alpha      = 0.05
)

// MinForInterval is the fewest repetitions for a finite 95% interval of
// the median; MinForTest the fewest (per side, both sides equal) for the
// U test to be able to reject at Alpha at all: with 3+3 runs its smallest
// p-value is 0.1. Both follow from benchmath's tables (a test checks them).
const (
	MinForInterval = 6
	MinForTest     = 4
)

// Summary is the median of one metric over a variant's runs.
type Summary struct {
	Center float64 // the median
	// Lo and Hi bound the 95% interval of the median; ±Inf when N is
	// under MinForInterval.
	Lo, Hi float64
	N      int // runs that had the metric
}

// Finite reports whether the interval is finite.
func (s Summary) Finite() bool { return !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) }

// HalfWidth is the interval's larger distance from the median as a
// fraction of it (benchstat's ±x%); +Inf when not finite, NaN when the
// median is 0 but the interval is not.
func (s Summary) HalfWidth() float64 {
	switch {
	case !s.Finite():
		return math.Inf(1)
	case s.Center == 0 && s.Lo == 0 && s.Hi == 0:
		return 0
	case s.Center == 0:
		return math.NaN()
	}
	return math.Max(s.Hi/s.Center-1, 1-s.Lo/s.Center)
}

// Summarize is the median of values and its 95% interval.
func Summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{Center: math.NaN(), Lo: math.Inf(-1), Hi: math.Inf(1)}
	}
	smp := benchmath.NewSample(slices.Clone(values), &benchmath.DefaultThresholds)
	s := benchmath.AssumeNothing.Summary(smp, Confidence)
	return Summary{Center: s.Center, Lo: s.Lo, Hi: s.Hi, N: len(values)}
}

// Change is a metric compared between a base and a new set of runs.
type Change struct {
	Base, New Summary
	// Delta is the change of the medians as a fraction of the base's
	// (+0.05: 5% more); NaN when the base's median is 0 and the new one
	// is not.
	Delta float64
	// P is the U test's p-value (1 when both samples hold one and the
	// same value: nothing differs).
	P float64
	// Significant is P < Alpha: the runs differ beyond their noise.
	Significant bool
	// Testable is false when the samples are too small for any
	// difference to be significant (smallest possible p over Alpha).
	Testable bool
}

// Compare compares base with new: the change of the medians and whether it
// is significant by the Mann-Whitney U test.
func Compare(base, new []float64) Change {
	c := Change{Base: Summarize(base), New: Summarize(new), P: 1}
	switch {
	case c.Base.Center == c.New.Center:
		c.Delta = 0
	case c.Base.Center == 0:
		c.Delta = math.NaN()
	default:
		c.Delta = c.New.Center/c.Base.Center - 1
	}
	c.Testable = minP(len(base), len(new)) < Alpha
	if len(base) == 0 || len(new) == 0 || (constant(base) && constant(new) && base[0] == new[0]) {
		return c // nothing to test, or nothing differs (the U test refuses all-ties)
	}
	t := &benchmath.Thresholds{CompareAlpha: Alpha}
	cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(base), t), benchmath.NewSample(slices.Clone(new), t))
	c.P = cmp.P
	c.Significant = cmp.P < Alpha
	return c
}

func constant(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

// minP is the smallest two-sided p-value the U test can give for samples
// of n1 and n2 values (all of one below all of the other):
// 2 / C(n1+n2, n1).
func minP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	// C(n1+n2, n1) grows fast: stop once it is large enough to matter.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
		if c > 1e12 {
			break
		}
	}
	return math.Min(1, 2/c)
}

// TooFew says why the runs per variant are too few, or "" when they are
// enough for both an interval and a test. n is the fewest runs of any
// variant.
func TooFew(n int) string {
	switch {
	case n < MinForTest:
		runs := fmt.Sprintf("%d runs per variant are", n)
		if n == 1 {
			runs = "1 run per variant is"
		}
		return fmt.Sprintf("%s too few for any difference to be significant: the Mann-Whitney U test needs %d per variant to reach p < %g, and a %g%% interval of the median needs %d (use --repeat %d)",
			runs, MinForTest, Alpha, 100*Confidence, MinForInterval, MinForInterval)
	case n < MinForInterval:
		return fmt.Sprintf("%d runs per variant: a difference can be significant, but a %g%% interval of the median needs %d (shown as ±∞; use --repeat %d)",
			n, 100*Confidence, MinForInterval, MinForInterval)
	}
	return ""
}

// Values are metric m's values over runs, leaving out runs without it.
func Values(m Metric, runs []*results.Run) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := m.Value(r); ok && !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

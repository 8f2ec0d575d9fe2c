package stats

import "github.com/connbench/connbench/results"

// Table compares variants metric by metric; the first is the baseline.
type Table struct {
	Labels []string // the variants
	Runs   []int    // runs per variant
	Rows   []Row    // one per metric some run has, in Reported's order
	// TooFew is TooFew of the fewest runs of a variant: "" when they are
	// enough for intervals and tests.
	TooFew string
}

// Row is one metric over the variants.
type Row struct {
	Metric Metric
	Cells  []Cell // one per variant
}

// Cell is one variant's figure of a metric.
type Cell struct {
	Has     bool // some run of the variant has the metric
	Summary Summary
	// Change is the variant against the baseline; nil for the baseline
	// itself or when either lacks the metric.
	Change *Change
	// Thin: for a percentile, some run had fewer than MinTail samples
	// above it (fewer than 1,000 samples for a p99), so the percentile
	// is one of a handful of values and swings from run to run.
	Thin bool
}

// MinTail is the fewest samples above a percentile for it to be more
// than a handful of values.
const MinTail = 10

// CompareGroups compares each group's runs with the first group's, for
// every metric of Reported that some run has.
func CompareGroups(groups []results.Group) Table {
	var t Table
	fewest := -1
	for _, g := range groups {
		t.Labels = append(t.Labels, g.Label)
		t.Runs = append(t.Runs, len(g.Runs))
		if fewest < 0 || len(g.Runs) < fewest {
			fewest = len(g.Runs)
		}
	}
	t.TooFew = TooFew(max(fewest, 0))
	for _, m := range Reported() {
		row := Row{Metric: m, Cells: make([]Cell, len(groups))}
		any := false
		var base []float64
		for i, g := range groups {
			v := Values(m, g.Runs)
			if len(v) == 0 {
				continue
			}
			any = true
			row.Cells[i] = Cell{Has: true, Summary: Summarize(v), Thin: thin(m, g.Runs)}
			if i == 0 {
				base = v
			} else if base != nil {
				c := Compare(base, v)
				row.Cells[i].Change = &c
			}
		}
		if any {
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

// thin reports whether some run has fewer than MinTail samples above
// m's percentile.
func thin(m Metric, runs []*results.Run) bool {
	if m.Tail == 0 {
		return false
	}
	for _, r := range runs {
		if n := m.Samples(r); n > 0 && float64(n)*m.Tail < MinTail {
			return true
		}
	}
	return false
}

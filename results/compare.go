package results

import (
	"math"
	"sort"
)

// Group is one variant: the runs that share a label (repetitions).
type Group struct {
	Label string
	Runs  []*Run
}

// Groups returns the document's runs grouped by label, in first-seen order.
func Groups(doc *Document) []Group {
	var out []Group
	idx := map[string]int{}
	for i := range doc.Runs {
		r := &doc.Runs[i]
		j, ok := idx[r.Label]
		if !ok {
			j = len(out)
			idx[r.Label] = j
			out = append(out, Group{Label: r.Label})
		}
		out[j].Runs = append(out[j].Runs, r)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (g Group) values(f func(r *Run) float64) []float64 {
	out := make([]float64, len(g.Runs))
	for i, r := range g.Runs {
		out[i] = f(r)
	}
	return out
}

// Median is the median of f over the group's runs.
func (g Group) Median(f func(r *Run) float64) float64 { return median(g.values(f)) }

// Range is the min and max of f over the group's runs.
func (g Group) Range(f func(r *Run) float64) (lo, hi float64) {
	v := g.values(f)
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func medInt(g Group, f func(r *Run) int64) int64 {
	return int64(math.Round(g.Median(func(r *Run) float64 { return float64(f(r)) })))
}

// MedianRun condenses a group into one run whose figures are the medians
// of the repetitions' (each percentile the median of that percentile). Its
// histograms are not merged: it is for display. A group of one run is
// returned as is.
func (g Group) MedianRun() *Run {
	if len(g.Runs) == 1 {
		return g.Runs[0]
	}
	first := g.Runs[0]
	m := *first
	m.DurationNs = medInt(g, func(r *Run) int64 { return r.DurationNs })
	m.Rates.ConnsPerSec = g.Median(func(r *Run) float64 { return r.Rates.ConnsPerSec })
	m.Rates.TransactionsPerSec = g.Median(func(r *Run) float64 { return r.Rates.TransactionsPerSec })
	m.Counts = Counts{
		Connections:   medInt(g, func(r *Run) int64 { return r.Counts.Connections }),
		Transactions:  medInt(g, func(r *Run) int64 { return r.Counts.Transactions }),
		BytesSent:     medInt(g, func(r *Run) int64 { return r.Counts.BytesSent }),
		BytesReceived: medInt(g, func(r *Run) int64 { return r.Counts.BytesReceived }),
	}
	m.FailuresTotal = medInt(g, func(r *Run) int64 { return r.FailuresTotal })
	m.Failures = map[string]int64{}
	for _, r := range g.Runs {
		for k := range r.Failures {
			m.Failures[k] = medInt(g, func(r *Run) int64 { return r.Failures[k] })
		}
	}
	m.CPU.UserNs = medInt(g, func(r *Run) int64 { return r.CPU.UserNs })
	m.CPU.SysNs = medInt(g, func(r *Run) int64 { return r.CPU.SysNs })
	m.Phases = medianPhases(g, func(r *Run) map[string]Phase { return r.Phases })
	m.ConnectCall = medianPhases(g, func(r *Run) map[string]Phase { return r.ConnectCall })
	if first.Schedule != nil {
		s := *first.Schedule
		s.Behind = medInt(g, func(r *Run) int64 {
			if r.Schedule == nil {
				return 0
			}
			return r.Schedule.Behind
		})
		m.Schedule = &s
	}
	if first.Kernel != nil {
		k := *first.Kernel
		get := func(r *Run) *Kernel {
			if r.Kernel == nil {
				return &Kernel{}
			}
			return r.Kernel
		}
		k.PeakPortsInUse = int(medInt(g, func(r *Run) int64 { return int64(get(r).PeakPortsInUse) }))
		k.PeakStates = map[string]int{}
		for s := range first.Kernel.PeakStates {
			k.PeakStates[s] = int(medInt(g, func(r *Run) int64 { return int64(get(r).PeakStates[s]) }))
		}
		k.Counters = map[string]int64{}
		for c := range first.Kernel.Counters {
			k.Counters[c] = medInt(g, func(r *Run) int64 { return get(r).Counters[c] })
		}
		m.Kernel = &k
	}
	if first.Exhaustion != nil {
		e := *first.Exhaustion
		e.FirstAddrNotAvailNs = medInt(g, func(r *Run) int64 {
			if r.Exhaustion == nil {
				return -1
			}
			return r.Exhaustion.FirstAddrNotAvailNs
		})
		m.Exhaustion = &e
	}
	if first.Listener != nil {
		l := *first.Listener
		l.CPUUserNs = medInt(g, func(r *Run) int64 { return listenerOr(r).CPUUserNs })
		l.CPUSysNs = medInt(g, func(r *Run) int64 { return listenerOr(r).CPUSysNs })
		m.Listener = &l
	}
	seen := map[string]bool{}
	m.Notes = nil
	for _, r := range g.Runs {
		m.Partial = m.Partial || r.Partial
		for _, n := range r.Notes {
			if !seen[n] {
				seen[n] = true
				m.Notes = append(m.Notes, n)
			}
		}
	}
	return &m
}

func listenerOr(r *Run) *Listener {
	if r.Listener == nil {
		return &Listener{}
	}
	return r.Listener
}

func medianPhases(g Group, get func(r *Run) map[string]Phase) map[string]Phase {
	out := map[string]Phase{}
	for name := range get(g.Runs[0]) {
		ph := func(r *Run) Phase { return get(r)[name] }
		var p Phase
		p.Count = medInt(g, func(r *Run) int64 { return ph(r).Count })
		p.MinNs = medInt(g, func(r *Run) int64 { return ph(r).MinNs })
		p.MeanNs = g.Median(func(r *Run) float64 { return ph(r).MeanNs })
		p.StddevNs = g.Median(func(r *Run) float64 { return ph(r).StddevNs })
		p.P50Ns = medInt(g, func(r *Run) int64 { return ph(r).P50Ns })
		p.P90Ns = medInt(g, func(r *Run) int64 { return ph(r).P90Ns })
		p.P99Ns = medInt(g, func(r *Run) int64 { return ph(r).P99Ns })
		p.P999Ns = medInt(g, func(r *Run) int64 { return ph(r).P999Ns })
		p.MaxNs = medInt(g, func(r *Run) int64 { return ph(r).MaxNs })
		p.Overflow = medInt(g, func(r *Run) int64 { return ph(r).Overflow })
		out[name] = p
	}
	return out
}

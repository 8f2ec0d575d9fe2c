package results

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The pooling curve: a compare that varies how much a pool reuses its
// connections (--vary requests-per-conn=1,2,5,10,100,inf, or
// max-conn-age=...) measures the whole range between a new connection per
// request and a pool that never reconnects. PoolingCurves reads the curve
// out of such a document; it is computed from the runs, never stored.

// CurveKeys are the varied settings that make a pooling curve.
var CurveKeys = []string{"requests-per-conn", "max-conn-age"}

// KneeShare is how close to the pool's rate the knee must be: the knee is
// the least reuse whose rate is at least KneeShare of the pool's (within
// 10%).
const KneeShare = 0.9

// CurvePoint is one variant of a pooling curve: the medians of its
// repetitions.
type CurvePoint struct {
	Label string `json:"label"` // the variant's label
	Value string `json:"value"` // the setting as given: "10", "inf", "30s"
	// Reuse orders the points: transactions per connection, or the age
	// limit in seconds; +Inf for inf (no limit: the pool).
	Reuse              float64 `json:"-"`
	Runs               int     `json:"runs"`
	TransactionsPerSec float64 `json:"transactions_per_sec"`
	ConnsPerSec        float64 `json:"conns_per_sec"`
	// P50Ns and P99Ns are the transaction phase's percentiles (0: none).
	P50Ns int64 `json:"p50_ns"`
	P99Ns int64 `json:"p99_ns"`
	// CPUNsPerTransaction is the client loops' CPU time per completed
	// transaction: their exact thread time when measured, else user+sys.
	CPUNsPerTransaction float64 `json:"cpu_ns_per_transaction"`
	// TimeWaitPeak is the most client sockets seen in TIME_WAIT; -1 when
	// the sockets were not sampled.
	TimeWaitPeak int64 `json:"time_wait_peak"`
	// TimeWaitAtStart is how many of those were there before the run (in
	// the host's namespace: earlier variants' and other clients'); 0 in a
	// namespace of the run's own.
	TimeWaitAtStart int64 `json:"time_wait_at_start"`
	Failures        int64 `json:"failures"`
}

// Curve is one pooling curve: the points that share every other setting.
type Curve struct {
	// Key is the varied setting (a CurveKeys entry); Others the other
	// settings its points share, "k=v, ..." ("" when only Key varies).
	Key    string       `json:"key"`
	Others string       `json:"others,omitempty"`
	Points []CurvePoint `json:"points"` // by reuse, least first, inf last
	// Pool is the index of the inf point (the pool that never
	// reconnects), -1 when the curve has none. Knee is the index of the
	// least reuse whose rate is within 10% of the pool's (KneeShare); -1
	// without a pool.
	Pool int `json:"pool"`
	Knee int `json:"knee"`
}

// PoolingCurves returns the pooling curves of doc: for each CurveKeys
// setting its compare varied, one curve per combination of the other
// settings, each of at least two points. Nil when there is none.
func PoolingCurves(doc *Document) []Curve {
	var out []Curve
	groups := Groups(doc)
	for _, key := range CurveKeys {
		byOthers := map[string]*Curve{}
		var order []string
		for _, g := range groups {
			r := g.Runs[0]
			v, ok := r.Settings[key]
			if !ok {
				continue
			}
			reuse, ok := ParseReuse(key, v)
			if !ok {
				continue
			}
			others := otherSettings(r.Settings, key)
			c := byOthers[others]
			if c == nil {
				c = &Curve{Key: key, Others: others}
				byOthers[others] = c
				order = append(order, others)
			}
			c.Points = append(c.Points, pointOf(g, v, reuse))
		}
		for _, o := range order {
			c := byOthers[o]
			if len(c.Points) < 2 {
				continue
			}
			sort.SliceStable(c.Points, func(i, j int) bool { return c.Points[i].Reuse < c.Points[j].Reuse })
			c.Knee, c.Pool = Knee(c.Points)
			out = append(out, *c)
		}
	}
	return out
}

// ParseReuse reads a curve setting's value: a transaction count for
// requests-per-conn, a duration (in seconds) for max-conn-age; inf (and
// 0 for an age) is +Inf, no limit.
func ParseReuse(key, v string) (float64, bool) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "inf", "infinity", "never", "none":
		return math.Inf(1), true
	}
	if key == "max-conn-age" {
		if v == "0" {
			return math.Inf(1), true
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, false
		}
		return d.Seconds(), true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return float64(n), true
}

// Knee returns the index of the knee of points (sorted by reuse, least
// first): the least reuse whose rate is at least KneeShare of the pool's
// (the inf point's), and the pool's index. With no finite point that
// close the knee is the pool itself; with no inf point both are -1.
func Knee(points []CurvePoint) (knee, pool int) {
	pool = -1
	for i, p := range points {
		if math.IsInf(p.Reuse, 1) {
			pool = i
			break
		}
	}
	if pool < 0 || points[pool].TransactionsPerSec <= 0 {
		return -1, pool
	}
	want := KneeShare * points[pool].TransactionsPerSec
	for i, p := range points {
		if p.TransactionsPerSec >= want {
			return i, pool
		}
	}
	return pool, pool
}

func pointOf(g Group, value string, reuse float64) CurvePoint {
	p := CurvePoint{Label: g.Label, Value: value, Reuse: reuse, Runs: len(g.Runs)}
	p.TransactionsPerSec = g.Median(func(r *Run) float64 { return r.Rates.TransactionsPerSec })
	p.ConnsPerSec = g.Median(func(r *Run) float64 { return r.Rates.ConnsPerSec })
	p.P50Ns = medInt(g, func(r *Run) int64 { return r.Phases["transaction"].P50Ns })
	p.P99Ns = medInt(g, func(r *Run) int64 { return r.Phases["transaction"].P99Ns })
	p.CPUNsPerTransaction = g.Median(func(r *Run) float64 {
		if r.Counts.Transactions == 0 {
			return 0
		}
		cpu := r.CPU.ThreadNs
		if cpu == 0 {
			cpu = r.CPU.UserNs + r.CPU.SysNs
		}
		return float64(cpu) / float64(r.Counts.Transactions)
	})
	p.TimeWaitPeak = medInt(g, func(r *Run) int64 {
		if r.Kernel == nil || r.Kernel.Samples == 0 {
			return -1
		}
		return int64(r.Kernel.PeakStates["time_wait"])
	})
	p.TimeWaitAtStart = medInt(g, func(r *Run) int64 {
		if r.Kernel == nil || r.Kernel.Scope == "namespace" {
			return 0
		}
		return int64(r.Kernel.StatesAtStart["time_wait"])
	})
	p.Failures = medInt(g, func(r *Run) int64 { return r.FailuresTotal })
	return p
}

func otherSettings(s map[string]string, key string) string {
	var parts []string
	for k, v := range s {
		if k != key {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

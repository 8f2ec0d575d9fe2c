package stats

import (
	"fmt"

	"github.com/connbench/connbench/results"
)

// Kind is what a metric's values are, for units and formatting.
type Kind int

const (
	Latency Kind = iota // nanoseconds
	PerSec              // per second
	Count               // a count of events
	Share               // a fraction from 0 to 1
)

// Metric is one figure of a run.
type Metric struct {
	// Name is the metric as --fail-on writes it: rate, conn_rate,
	// failures, failures(ECONNREFUSED), timeouts, cpu, p99(transaction).
	Name string
	// Title names it in a table: "transactions/s", "transaction p99".
	Title string
	Kind  Kind
	// HigherIsWorse says which way a regression goes: up for latencies,
	// failures and CPU, down for rates.
	HigherIsWorse bool
	// Value is the run's figure; false when the run has none (no such
	// phase, no transactions to divide by).
	Value func(r *results.Run) (float64, bool)
	// Tail is the share of a run's samples above a percentile (0.01 for
	// a p99), 0 for other metrics: with n samples the percentile rests
	// on about n×Tail of them. Samples is the run's sample count then.
	Tail    float64
	Samples func(r *results.Run) int64
}

// Rate is transactions per second.
func Rate() Metric {
	return Metric{Name: "rate", Title: "transactions/s", Kind: PerSec,
		Value: func(r *results.Run) (float64, bool) { return r.Rates.TransactionsPerSec, true }}
}

// ConnRate is new connections per second.
func ConnRate() Metric {
	return Metric{Name: "conn_rate", Title: "new connections/s", Kind: PerSec,
		Value: func(r *results.Run) (float64, bool) { return r.Rates.ConnsPerSec, true }}
}

// attempts are the transactions a run finished or failed.
func attempts(r *results.Run) int64 { return r.Counts.Transactions + r.FailuresTotal }

// Failures counts failed transactions (class "": all of them); share
// makes it their share of the finished and failed transactions.
func Failures(class string, share bool) Metric {
	name, title := "failures", "failures"
	if class != "" {
		name, title = "failures("+class+")", "failures "+class
	}
	count := func(r *results.Run) int64 {
		if class == "" {
			return r.FailuresTotal
		}
		return r.Failures[class]
	}
	return countMetric(name, title, share, count)
}

// TimeoutClasses are the failure classes timeouts counts: the tool's
// connect and response timeouts and the kernel's ETIMEDOUT.
var TimeoutClasses = []string{"connect_timeout", "response_timeout", "ETIMEDOUT"}

// Timeouts counts the failures of TimeoutClasses (share: as a share).
func Timeouts(share bool) Metric {
	return countMetric("timeouts", "timeouts", share, func(r *results.Run) int64 {
		var n int64
		for _, c := range TimeoutClasses {
			n += r.Failures[c]
		}
		return n
	})
}

func countMetric(name, title string, share bool, count func(r *results.Run) int64) Metric {
	if !share {
		return Metric{Name: name, Title: title, Kind: Count, HigherIsWorse: true,
			Value: func(r *results.Run) (float64, bool) { return float64(count(r)), true }}
	}
	return Metric{Name: name, Title: title + " %", Kind: Share, HigherIsWorse: true,
		Value: func(r *results.Run) (float64, bool) {
			n := attempts(r)
			if n == 0 {
				return 0, false
			}
			return float64(count(r)) / float64(n), true
		}}
}

// CPU is the client loops' CPU time per completed transaction (user and
// system; the exact thread time when the run measured it), in ns.
func CPU() Metric {
	return Metric{Name: "cpu", Title: "CPU per transaction", Kind: Latency, HigherIsWorse: true,
		Value: func(r *results.Run) (float64, bool) {
			if r.Counts.Transactions == 0 {
				return 0, false
			}
			ns := r.CPU.ThreadNs
			if ns == 0 {
				ns = r.CPU.UserNs + r.CPU.SysNs
			}
			return float64(ns) / float64(r.Counts.Transactions), true
		}}
}

// Stats are the statistics of a phase a metric may name, and how each is
// read from a phase summary.
var Stats = map[string]func(p results.Phase) float64{
	"min":   func(p results.Phase) float64 { return float64(p.MinNs) },
	"mean":  func(p results.Phase) float64 { return p.MeanNs },
	"p50":   func(p results.Phase) float64 { return float64(p.P50Ns) },
	"p90":   func(p results.Phase) float64 { return float64(p.P90Ns) },
	"p99":   func(p results.Phase) float64 { return float64(p.P99Ns) },
	"p99.9": func(p results.Phase) float64 { return float64(p.P999Ns) },
	"max":   func(p results.Phase) float64 { return float64(p.MaxNs) },
}

// tails are the shares above the percentiles.
var tails = map[string]float64{"p90": 0.1, "p99": 0.01, "p99.9": 0.001}

// PhaseTitles are the phases shown, by name, with their titles.
var phaseTitles = map[string]string{"handshake": "handshake", "tls_handshake": "TLS handshake", "first_byte": "first byte", "response": "response", "transaction": "transaction"}

// PhaseStat is statistic stat (a key of Stats) of a phase's latencies
// (results.PhaseOrder), in ns; runs without the phase have none.
func PhaseStat(stat, phase string) (Metric, error) {
	get, ok := Stats[stat]
	if !ok {
		return Metric{}, fmt.Errorf("unknown statistic %q", stat)
	}
	title := phaseTitles[phase]
	if title == "" {
		title = phase
	}
	return Metric{Name: stat + "(" + phase + ")", Title: title + " " + stat, Kind: Latency, HigherIsWorse: true,
		Value: func(r *results.Run) (float64, bool) {
			p, ok := r.Phases[phase]
			if !ok || p.Count == 0 {
				return 0, false
			}
			return get(p), true
		},
		Tail:    tails[stat],
		Samples: func(r *results.Run) int64 { return r.Phases[phase].Count },
	}, nil
}

// Reported are the metrics a comparison reports, in order: the rate,
// failures, the p50, p99 and p99.9 of the handshake, first byte and
// transaction, and CPU per transaction. A metric no run has is left out.
func Reported() []Metric {
	out := []Metric{Rate(), Failures("", false)}
	for _, ph := range []string{"handshake", "tls_handshake", "first_byte", "transaction"} {
		for _, st := range []string{"p50", "p99", "p99.9"} {
			m, _ := PhaseStat(st, ph)
			out = append(out, m)
		}
	}
	return append(out, CPU())
}

package view

import (
	"fmt"
	"math"
	"strings"

	"github.com/connbench/connbench/results"
)

// rate is a run's headline rate: transactions per second.
func rate(r *results.Run) float64 { return r.Rates.TransactionsPerSec }

// MinVerdictCount is the fewest samples of the main phase (transactions,
// or handshakes for runs that only connect) a run of each variant needs
// for a verdict: below it a rate ratio is a handful of events apart.
// MinP99Count is the fewest for comparing p99s: with n samples about n/100
// lie above the p99, so below 1,000 the p99 rests on fewer than ten
// samples (at 100, on the largest one or two) and swings by whole
// multiples from run to run.
const (
	MinVerdictCount = 100
	MinP99Count     = 1000
)

// Verdict compares a variant with the baseline in one line: the change in
// transactions/s and in p99 latency of the main phase, failures, and
// whether the difference stands out of the noise (with single runs, a
// change under 5%; repetitions are judged by the statistics of
// WriteStats instead, which the table uses, and here by whether the
// min–max ranges overlap). When a
// run of either variant has fewer than MinVerdictCount samples it gives no
// verdict but says the sample is too small; the p99 change is shown only
// when each has MinP99Count.
func Verdict(base, v results.Group) string {
	if len(base.Runs) == 0 || len(v.Runs) == 0 {
		return ""
	}
	ph := mainPhase(base.Runs[0])
	bn, vn := fewest(base, ph), fewest(v, mainPhase(v.Runs[0]))
	bm, vm := base.Median(rate), v.Median(rate)
	bf, vf := base.Median(func(r *results.Run) float64 { return float64(r.FailuresTotal) }), v.Median(func(r *results.Run) float64 { return float64(r.FailuresTotal) })
	failures := ""
	if bf != vf {
		failures = fmt.Sprintf("failures %s → %s", Count(int64(bf)), Count(int64(vf)))
	}
	noun := map[string]string{"handshake": "handshakes"}[ph]
	if noun == "" {
		noun = "transactions"
	}
	if bn < MinVerdictCount || vn < MinVerdictCount {
		s := fmt.Sprintf("sample too small for a verdict: %s %s in the baseline, %s here (a verdict needs %s per run)",
			Count(bn), noun, Count(vn), Count(MinVerdictCount))
		if failures != "" {
			s += "; " + failures
		}
		return s
	}
	var parts []string
	if bm > 0 {
		parts = append(parts, fmt.Sprintf("%s transactions/s", pct((vm-bm)/bm)))
	}
	bp := base.Median(func(r *results.Run) float64 { return float64(r.Phases[ph].P99Ns) })
	vp := v.Median(func(r *results.Run) float64 { return float64(r.Phases[ph].P99Ns) })
	switch {
	case bp <= 0 || vp <= 0:
	case bn < MinP99Count || vn < MinP99Count:
		parts = append(parts, fmt.Sprintf("p99 not compared (under %s %s per run)", Count(MinP99Count), noun))
	default:
		parts = append(parts, fmt.Sprintf("p99 %s %s", phaseTitle[ph], pct((vp-bp)/bp)))
	}
	if failures != "" {
		parts = append(parts, failures)
	}
	judgement := "different"
	switch {
	case len(base.Runs) > 1 && len(v.Runs) > 1:
		blo, bhi := base.Range(rate)
		vlo, vhi := v.Range(rate)
		if vlo <= bhi && blo <= vhi && bf == vf {
			judgement = "within noise (the rate ranges overlap)"
		} else if vm > bm {
			judgement = "faster, beyond the noise"
		} else {
			judgement = "slower, beyond the noise"
		}
	case bm > 0 && math.Abs(vm-bm)/bm < 0.05 && bf == vf:
		judgement = "about the same (under 5%; one run each: --repeat 6 tells whether it is noise)"
	case vm > bm:
		judgement = "faster (one run each: --repeat 6 tells whether it is noise)"
	default:
		judgement = "slower (one run each: --repeat 6 tells whether it is noise)"
	}
	return judgement + ": " + strings.Join(parts, ", ")
}

// mainPhase is the phase a verdict looks at: the handshake for runs that
// only connect, the transaction otherwise.
func mainPhase(r *results.Run) string {
	if _, ok := r.Phases["first_byte"]; !ok {
		if _, ok := r.Phases["handshake"]; ok {
			return "handshake"
		}
	}
	return "transaction"
}

func pct(x float64) string {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*x)
}

// fewest is the smallest sample of phase ph over the group's runs: the
// phase's count, or the transactions when the run has no such phase.
func fewest(g results.Group, ph string) int64 {
	n := int64(-1)
	for _, r := range g.Runs {
		c := r.Counts.Transactions
		if p, ok := r.Phases[ph]; ok {
			c = p.Count
		}
		if n < 0 || c < n {
			n = c
		}
	}
	return max(n, 0)
}

package view

import (
	"fmt"
	"math"
	"strings"

	"github.com/connbench/connbench/results"
)

// rate is a run's headline rate: transactions per second.
func rate(r *results.Run) float64 { return r.Rates.TransactionsPerSec }

// Verdict compares a variant with the baseline in one line: the change in
// transactions/s and in p99 latency of the main phase, failures, and
// whether the difference stands out of the noise (the min–max ranges of
// the repetitions overlap, or with single runs, a change under 5%).
func Verdict(base, v results.Group) string {
	if len(base.Runs) == 0 || len(v.Runs) == 0 {
		return ""
	}
	bm, vm := base.Median(rate), v.Median(rate)
	var parts []string
	if bm > 0 {
		parts = append(parts, fmt.Sprintf("%s transactions/s", pct((vm-bm)/bm)))
	}
	ph := mainPhase(base.Runs[0])
	bp := base.Median(func(r *results.Run) float64 { return float64(r.Phases[ph].P99Ns) })
	vp := v.Median(func(r *results.Run) float64 { return float64(r.Phases[ph].P99Ns) })
	if bp > 0 && vp > 0 {
		parts = append(parts, fmt.Sprintf("p99 %s %s", phaseTitle[ph], pct((vp-bp)/bp)))
	}
	bf, vf := base.Median(func(r *results.Run) float64 { return float64(r.FailuresTotal) }), v.Median(func(r *results.Run) float64 { return float64(r.FailuresTotal) })
	if bf != vf {
		parts = append(parts, fmt.Sprintf("failures %s → %s", Count(int64(bf)), Count(int64(vf))))
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
		judgement = "about the same (under 5%; one run each: --repeat 3 tells the noise)"
	case vm > bm:
		judgement = "faster (one run each: --repeat 3 tells the noise)"
	default:
		judgement = "slower (one run each: --repeat 3 tells the noise)"
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

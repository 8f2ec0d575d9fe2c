// Package threshold is the --fail-on grammar: expressions such as
// p99(connect)>5ms, failures>0.1%, rate<10000 or
// regression(p99(transaction))>5% that fail a run (or a comparison) when
// they hold, and their evaluation against result runs.
//
// Grammar (white space is ignored):
//
//	expr     = metric op value | "regression(" metric ")" (">" | ">=") percent
//	metric   = "rate" | "conn_rate" | "failures" | "failures(" CLASS ")" |
//	           "timeouts" | "cpu" | stat "(" phase ")"
//	stat     = "min" | "mean" | "p50" | "p90" | "p99" | "p99.9" | "max"
//	phase    = "handshake" | "connect" (the handshake) | "tls_handshake" |
//	           "first_byte" | "response" | "transaction"
//	op       = ">" | ">=" | "<" | "<="
//	value    = number [unit]
//
// Units: latencies (stat(phase), and cpu: CPU time per transaction) need
// one of ns, us (or µs), ms, s; rates are per second, plain or with a k
// or M suffix (10k); failures and timeouts are a count (k and M allowed)
// or, with %, a share of the transactions finished or failed; a
// regression is a percent change of the median in the worse direction
// (up for latencies, failures and CPU, down for rates), and counts only
// when the Mann-Whitney U test finds it significant at alpha 0.05.
//
// The package never prints; results.Threshold records an outcome.
package threshold

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/connbench/connbench/stats"
)

// Expr is one parsed --fail-on expression.
type Expr struct {
	Text   string // as given
	Metric stats.Metric
	// Regression: the expression is on the change against a baseline.
	Regression bool
	Op         string // >, >=, < or <=
	// Limit is in the metric's unit: ns, per second, a count or a share
	// (0 to 1); for a regression, a fraction (0.05 for 5%).
	Limit float64
}

// MaxLen bounds an expression's length; MaxExprs the number of --fail-on.
const (
	MaxLen   = 200
	MaxExprs = 100
)

var (
	classRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)
	// Phases are the phase names a metric may use; connect is the handshake.
	Phases = map[string]string{"handshake": "handshake", "connect": "handshake", "tls_handshake": "tls_handshake", "first_byte": "first_byte", "response": "response", "transaction": "transaction"}
)

const metricHelp = "rate, conn_rate, failures, failures(CLASS), timeouts, cpu, or STAT(PHASE) with STAT min|mean|p50|p90|p99|p99.9|max and PHASE handshake|connect|tls_handshake|first_byte|response|transaction"

// Parse reads one expression; the error says what is wrong with it.
func Parse(text string) (Expr, error) {
	if len(text) > MaxLen {
		return Expr{}, fmt.Errorf("longer than %d characters", MaxLen)
	}
	s := strings.Join(strings.Fields(text), "")
	e := Expr{Text: s}
	i := strings.IndexAny(s, "<>")
	if i < 0 {
		if strings.ContainsAny(s, "=!") {
			return e, errors.New("the operator must be >, >=, < or <=")
		}
		return e, errors.New("no operator: want METRIC OP VALUE, e.g. p99(connect)>5ms")
	}
	left, op, right := s[:i], s[i:i+1], s[i+1:]
	if strings.HasPrefix(right, "=") {
		op, right = op+"=", right[1:]
	}
	e.Op = op
	if left == "" {
		return e, errors.New("no metric before the operator (want " + metricHelp + ")")
	}
	if right == "" {
		return e, errors.New("no value after the operator")
	}
	if inner, ok := strings.CutPrefix(left, "regression("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok || inner == "" {
			return e, errors.New("regression(...): want regression(METRIC), e.g. regression(p99(transaction))>5%")
		}
		left = inner
		e.Regression = true
	}
	m, share, err := parseMetric(left, strings.HasSuffix(right, "%"))
	if err != nil {
		return e, err
	}
	e.Metric = m
	if e.Regression {
		if op != ">" && op != ">=" {
			return e, fmt.Errorf("regression(...) takes > or >= (a regression is a change for the worse), not %s", op)
		}
		num, ok := strings.CutSuffix(right, "%")
		if !ok {
			return e, fmt.Errorf("regression limit %q: want a percent change, e.g. 5%%", right)
		}
		v, err := number(num, 1e6)
		if err != nil {
			return e, fmt.Errorf("regression limit %q: %v", right, err)
		}
		e.Limit = v / 100
		return e, nil
	}
	e.Limit, err = value(right, m.Kind, share)
	if err != nil {
		return e, fmt.Errorf("%s: value %q: %v", m.Name, right, err)
	}
	return e, nil
}

// parseMetric reads a metric name; pct says the value is a percent, which
// turns failures and timeouts into shares.
func parseMetric(s string, pct bool) (stats.Metric, bool, error) {
	switch s {
	case "rate":
		return stats.Rate(), false, nil
	case "conn_rate":
		return stats.ConnRate(), false, nil
	case "failures":
		return stats.Failures("", pct), pct, nil
	case "timeouts":
		return stats.Timeouts(pct), pct, nil
	case "cpu":
		return stats.CPU(), false, nil
	}
	name, arg, ok := strings.Cut(s, "(")
	arg, closed := strings.CutSuffix(arg, ")")
	if !ok || !closed || arg == "" {
		return stats.Metric{}, false, fmt.Errorf("unknown metric %q (want %s)", s, metricHelp)
	}
	if name == "failures" {
		if !classRE.MatchString(arg) {
			return stats.Metric{}, false, fmt.Errorf("failures(%s): a failure class is letters, digits and _ (ECONNREFUSED, connect_timeout, ...)", arg)
		}
		return stats.Failures(arg, pct), pct, nil
	}
	if _, ok := stats.Stats[name]; !ok {
		return stats.Metric{}, false, fmt.Errorf("unknown statistic %q in %q (want min, mean, p50, p90, p99, p99.9 or max)", name, s)
	}
	ph, ok := Phases[arg]
	if !ok {
		return stats.Metric{}, false, fmt.Errorf("unknown phase %q in %q (want handshake, connect, tls_handshake, first_byte, response or transaction)", arg, s)
	}
	m, err := stats.PhaseStat(name, ph)
	return m, false, err
}

var durUnits = []struct {
	suffix string
	ns     float64
}{{"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}}

// value reads a limit for a metric of kind k (share: a percent).
func value(s string, k stats.Kind, share bool) (float64, error) {
	switch k {
	case stats.Latency:
		for _, u := range durUnits {
			// ns, us and ms come before s: "5ms" is read as 5 ms.
			if num, ok := strings.CutSuffix(s, u.suffix); ok {
				v, err := number(num, 1e15/u.ns) // at most 1e6 s
				return v * u.ns, err
			}
		}
		return 0, errors.New("a latency needs a unit: ns, us, ms or s (e.g. 5ms)")
	case stats.Share:
		num, _ := strings.CutSuffix(s, "%")
		v, err := number(num, 100)
		return v / 100, err
	case stats.PerSec:
		if strings.HasSuffix(s, "%") {
			return 0, errors.New("a rate is per second, not a percent (for a relative drop use regression(rate)>5%)")
		}
		s = strings.TrimSuffix(s, "/s")
	}
	// PerSec or Count: a plain number, k or M allowed.
	mult := 1.0
	if num, ok := strings.CutSuffix(s, "k"); ok {
		s, mult = num, 1e3
	} else if num, ok := strings.CutSuffix(s, "M"); ok {
		s, mult = num, 1e6
	}
	v, err := number(s, 1e15/mult)
	return v * mult, err
}

// number is a non-negative decimal number up to limit.
func number(s string, limit float64) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(s, "xXpP_") {
		return 0, fmt.Errorf("%q is not a number (units: ns, us, ms, s for latencies; %% for shares; k or M for counts and rates)", s)
	}
	if v < 0 || v > limit {
		return 0, fmt.Errorf("%s is out of range (0 to %g)", s, limit)
	}
	return v, nil
}

// ParseAll parses each of texts (at most MaxExprs); the error names the
// expression and what is wrong.
func ParseAll(texts []string) ([]Expr, error) {
	if len(texts) > MaxExprs {
		return nil, fmt.Errorf("%d expressions: at most %d", len(texts), MaxExprs)
	}
	var out []Expr
	for _, t := range texts {
		e, err := Parse(t)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", t, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// HasRegression reports whether some expression needs a baseline.
func HasRegression(es []Expr) bool {
	for _, e := range es {
		if e.Regression {
			return true
		}
	}
	return false
}

package threshold

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in     string
		metric string
		op     string
		limit  float64
		reg    bool
	}{
		{"p99(connect)>5ms", "p99(handshake)", ">", 5e6, false},
		{" p99 ( handshake ) >= 250us ", "p99(handshake)", ">=", 250e3, false},
		{"p50(first_byte)<1µs", "p50(first_byte)", "<", 1e3, false},
		{"p99.9(transaction)<=2s", "p99.9(transaction)", "<=", 2e9, false},
		{"max(response)>800ns", "max(response)", ">", 800, false},
		{"mean(transaction)>1.5ms", "mean(transaction)", ">", 1.5e6, false},
		{"p90(transaction)>0.5s", "p90(transaction)", ">", 5e8, false},
		{"min(handshake)>10us", "min(handshake)", ">", 1e4, false},
		{"cpu>20us", "cpu", ">", 2e4, false},
		{"failures>0.1%", "failures", ">", 0.001, false},
		{"failures>0", "failures", ">", 0, false},
		{"failures(ECONNREFUSED)>=10", "failures(ECONNREFUSED)", ">=", 10, false},
		{"failures(connect_timeout)>1%", "failures(connect_timeout)", ">", 0.01, false},
		{"timeouts>0", "timeouts", ">", 0, false},
		{"timeouts>2%", "timeouts", ">", 0.02, false},
		{"rate<10000", "rate", "<", 10000, false},
		{"rate<10k", "rate", "<", 10000, false},
		{"rate<1.5M/s", "rate", "<", 1.5e6, false},
		{"rate<1e12", "rate", "<", 1e12, false},
		{"conn_rate<=2k", "conn_rate", "<=", 2000, false},
		{"regression(p99(transaction))>5%", "p99(transaction)", ">", 0.05, true},
		{"regression(rate)>=10%", "rate", ">=", 0.1, true},
	} {
		e, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if e.Metric.Name != c.metric || e.Op != c.op || math.Abs(e.Limit-c.limit) > 1e-9*c.limit || e.Regression != c.reg {
			t.Errorf("Parse(%q) = %s %s %v (regression %v), want %s %s %v (%v)", c.in, e.Metric.Name, e.Op, e.Limit, e.Regression, c.metric, c.op, c.limit, c.reg)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "no operator",
		"p99(connect)":                 "no operator",
		"p99(connect)=5ms":             "operator must be",
		"p99(connect)!=5ms":            "operator must be",
		">5ms":                         "no metric",
		"p99(connect)>":                "no value",
		"p99(connect)>5":               "needs a unit",
		"p99(connect)>5h":              "needs a unit",
		"p99(connect)>-5ms":            "out of range",
		"p99(connect)>2e6s":            "out of range",
		"p99(connect)>fast":            "needs a unit",
		"p98(connect)>5ms":             "unknown statistic \"p98\"",
		"p99(accept)>5ms":              "unknown phase \"accept\"",
		"p99(connect>5ms":              "unknown metric",
		"latency>5ms":                  "unknown metric \"latency\"",
		"rate<10%":                     "not a percent",
		"rate<abc":                     "not a number",
		"rate<0x10":                    "not a number",
		"rate<NaN":                     "not a number",
		"rate<Inf":                     "not a number",
		"failures>101%":                "out of range",
		"failures(../x)>0":             "letters, digits",
		"regression(rate)<5%":          "takes > or >=",
		"regression(rate)>5":           "want a percent change",
		"regression()>5%":              "want regression(METRIC)",
		"regression(p99(connect)>5%":   "unknown metric \"p99(connect\"",
		strings.Repeat("x", 300) + ">": "longer than",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, want)
		}
	}
	if _, err := ParseAll([]string{"rate<1", "p99(x)>1ms"}); err == nil || !strings.Contains(err.Error(), `"p99(x)>1ms": unknown phase`) {
		t.Errorf("ParseAll: %v, want the bad expression named", err)
	}
}

func mkRun(rate float64, p99 int64, fail map[string]int64) *results.Run {
	r := &results.Run{Rates: results.Rates{TransactionsPerSec: rate, ConnsPerSec: rate / 2},
		Counts: results.Counts{Transactions: 1000}, Failures: fail, CPU: results.CPU{ThreadNs: 5_000_000}}
	for _, n := range fail {
		r.FailuresTotal += n
	}
	p := results.Phase{}
	p.Count, p.P99Ns, p.P50Ns, p.MaxNs = 1000, p99, p99/2, p99*3
	r.Phases = map[string]results.Phase{"handshake": p, "transaction": p}
	return r
}

func group(label string, runs ...*results.Run) results.Group {
	return results.Group{Label: label, Runs: runs}
}

// Each operator and unit, once failing and once passing.
func TestEvaluateAbsolute(t *testing.T) {
	g := group("per-request", mkRun(20000, 4_000_000, map[string]int64{"connect_timeout": 2, "ECONNREFUSED": 8}))
	// 1000 transactions, 10 failures: 10/1010 ≈ 0.99%; cpu 5 µs per transaction.
	for _, c := range []struct {
		expr string
		fail bool
	}{
		{"p99(connect)>3ms", true}, {"p99(connect)>5ms", false},
		{"p99(handshake)>=4ms", true}, {"p99(handshake)>=4001us", false},
		{"p99(transaction)<5ms", true}, {"p99(transaction)<4ms", false},
		{"p50(transaction)<=2000000ns", true}, {"p50(transaction)<=1.999ms", false},
		{"max(transaction)>0.011s", true}, {"max(transaction)>0.012s", false},
		{"cpu>4.9us", true}, {"cpu>5µs", false},
		{"rate<20001", true}, {"rate<20k", false},
		{"rate<=20k", true}, {"rate<0.02M", false},
		{"conn_rate>9999", true}, {"conn_rate>10k", false},
		{"failures>9", true}, {"failures>10", false},
		{"failures>0.9%", true}, {"failures>1%", false},
		{"failures(ECONNREFUSED)>=8", true}, {"failures(ECONNREFUSED)>=9", false},
		{"timeouts>1", true}, {"timeouts>2", false},
		{"timeouts>0.1%", true}, {"timeouts>0.2%", false},
		{"failures(EPIPE)>0", false},
	} {
		e, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		ts := Evaluate([]Expr{e}, []results.Group{g}, nil)
		if len(ts) != 1 {
			t.Fatalf("%s: %d outcomes", c.expr, len(ts))
		}
		o := ts[0]
		if o.Failed != c.fail || o.Skipped {
			t.Errorf("%s: failed %v skipped %v (%s), want failed %v", c.expr, o.Failed, o.Skipped, o.Detail, c.fail)
		}
		if o.Failed && (e.Op == ">" || e.Op == "<") && !(o.Over > 0) {
			t.Errorf("%s: over %v, want > 0", c.expr, o.Over)
		}
		if o.Failed != (strings.Contains(o.Detail, "over by") || strings.Contains(o.Detail, "under by")) {
			t.Errorf("%s: detail %q", c.expr, o.Detail)
		}
		if o.Variant != "per-request" || o.Detail == "" || o.Runs != 1 {
			t.Errorf("%s: %+v", c.expr, o)
		}
	}
}

func TestEvaluateMedianAndSkipped(t *testing.T) {
	g := group("x", mkRun(100, 1e6, nil), mkRun(300, 1e6, nil), mkRun(200, 1e6, nil))
	e, _ := Parse("rate<250")
	o := Evaluate([]Expr{e}, []results.Group{g}, nil)[0]
	if !o.Failed || o.Value != 200 || o.Runs != 3 || o.Over != 50 {
		t.Errorf("median of 3: %+v", o)
	}
	e, _ = Parse("p99(first_byte)>1ms")
	o = Evaluate([]Expr{e}, []results.Group{g}, nil)[0]
	if o.Failed || !o.Skipped || !strings.Contains(o.Detail, "no run has") {
		t.Errorf("absent phase: %+v", o)
	}
	if err := Failed([]results.Threshold{o}); err != nil {
		t.Errorf("Failed on a skipped outcome: %v", err)
	}
	var fe *FailedError
	if err := Failed([]results.Threshold{o, {Failed: true}}); !errors.As(err, &fe) || fe.Failed != 1 || fe.Total != 2 {
		t.Errorf("Failed: %v", err)
	}
}

func TestEvaluateRegression(t *testing.T) {
	runs := func(rate float64, p99 int64, n int) []*results.Run {
		var out []*results.Run
		for i := range n {
			out = append(out, mkRun(rate+float64(i), p99+int64(i)*1000, nil))
		}
		return out
	}
	base := group("old", runs(10000, 1_000_000, 6)...)
	slower := group("new", runs(8000, 1_200_000, 6)...) // p99 +20%, rate -20%
	same := group("new", runs(10000, 1_000_000, 6)...)
	few := group("new", runs(5000, 3_000_000, 2)...)
	for _, c := range []struct {
		expr   string
		g      results.Group
		fail   bool
		detail string
	}{
		{"regression(p99(transaction))>5%", slower, true, "significant"},
		{"regression(p99(transaction))>25%", slower, false, "significant, but not > 25%"},
		{"regression(rate)>=20%", slower, false, "significant, but not"}, // -19.99%: just under
		{"regression(rate)>10%", slower, true, "significant"},
		{"regression(p99(transaction))>5%", same, false, "not significant at alpha"},
		{"regression(p99(transaction))>5%", few, false, "cannot be with 6+2 runs"},
		{"regression(failures)>0%", slower, false, "not significant"},
	} {
		e, err := Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		ts := Evaluate([]Expr{e}, []results.Group{c.g}, []results.Group{base})
		if len(ts) != 1 {
			t.Fatalf("%s: %d outcomes", c.expr, len(ts))
		}
		o := ts[0]
		if o.Failed != c.fail || !strings.Contains(o.Detail, c.detail) || o.Unit != "change" || o.BaselineRuns != 6 {
			t.Errorf("%s on %d runs: failed %v, %q; want failed %v and %q", c.expr, len(c.g.Runs), o.Failed, o.Detail, c.fail, c.detail)
		}
	}
	// The baseline (no baseline of its own) gets no regression outcome.
	e, _ := Parse("regression(rate)>1%")
	if ts := Evaluate([]Expr{e}, []results.Group{base, slower}, []results.Group{{}, base}); len(ts) != 1 || ts[0].Variant != "new" || !ts[0].Failed {
		t.Errorf("compare-style evaluation: %+v", ts)
	}
}

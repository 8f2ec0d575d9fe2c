package threshold

import (
	"math"
	"testing"
)

// FuzzParse: any text parses or is refused with a message, never panics;
// what parses has a known operator, a metric and a finite limit >= 0.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"p99(connect)>5ms", "failures>0.1%", "rate<10k", "timeouts>0", "regression(p99(transaction))>5%",
		"failures(ECONNREFUSED)>=1", "cpu<=1s", "p99.9(first_byte)<2us", "regression(rate)>=1e3%", "x", ">", "p99(()>1ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", s)
			}
			return
		}
		switch e.Op {
		case ">", ">=", "<", "<=":
		default:
			t.Fatalf("%q: op %q", s, e.Op)
		}
		if e.Metric.Name == "" || e.Metric.Value == nil || math.IsNaN(e.Limit) || math.IsInf(e.Limit, 0) || e.Limit < 0 {
			t.Fatalf("%q: %+v", s, e)
		}
		if e.Regression && e.Op[0] != '>' {
			t.Fatalf("%q: regression with %s", s, e.Op)
		}
	})
}

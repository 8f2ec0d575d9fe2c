package view

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/stats"
)

// junitCheck parses a JUnit file back and checks the elements and
// attributes CI systems require: testsuites > testsuite (name, tests,
// failures, errors, skipped, time, timestamp, hostname) > testcase (name,
// classname, time), failure (message, type) in a failed case.
func junitCheck(t *testing.T, data []byte, wantTests, wantFailures int) {
	t.Helper()
	type attrs struct {
		XMLName xml.Name
		Attrs   []xml.Attr `xml:",any,attr"`
	}
	var doc struct {
		XMLName xml.Name   `xml:"testsuites"`
		Attrs   []xml.Attr `xml:",any,attr"`
		Suites  []struct {
			Attrs []xml.Attr `xml:",any,attr"`
			Cases []struct {
				Attrs   []xml.Attr `xml:",any,attr"`
				Failure *attrs     `xml:"failure"`
				Skipped *attrs     `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, data)
	}
	get := func(as []xml.Attr, name string) (string, bool) {
		for _, a := range as {
			if a.Name.Local == name {
				return a.Value, true
			}
		}
		return "", false
	}
	need := func(what string, as []xml.Attr, names ...string) {
		for _, n := range names {
			if _, ok := get(as, n); !ok {
				t.Errorf("%s lacks attribute %s", what, n)
			}
		}
	}
	need("testsuites", doc.Attrs, "tests", "failures")
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuite elements, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	need("testsuite", s.Attrs, "name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname")
	if v, _ := get(s.Attrs, "tests"); v != strconv.Itoa(wantTests) || len(s.Cases) != wantTests {
		t.Errorf("tests=%q with %d testcases, want %d", v, len(s.Cases), wantTests)
	}
	if v, _ := get(s.Attrs, "failures"); v != strconv.Itoa(wantFailures) {
		t.Errorf("failures=%q, want %d", v, wantFailures)
	}
	if ts, _ := get(s.Attrs, "timestamp"); ts != "" {
		if _, err := time.Parse("2006-01-02T15:04:05", ts); err != nil {
			t.Errorf("timestamp %q: %v", ts, err)
		}
	}
	failures := 0
	for _, c := range s.Cases {
		need("testcase", c.Attrs, "name", "classname", "time")
		if c.Failure != nil {
			failures++
			need("failure", c.Failure.Attrs, "message", "type")
		}
	}
	if failures != wantFailures {
		t.Errorf("%d failure elements, want %d", failures, wantFailures)
	}
}

func TestJUnitRoundTrip(t *testing.T) {
	ts := []results.Threshold{
		{Expr: "p99(connect)>5ms", Variant: "per-request", Failed: true, Detail: "p99(handshake) = 7ms > 5ms: over by 2ms"},
		{Expr: "rate<10000", Variant: "per-request <&\"x\x01>", Detail: "rate = 20000/s, not < 10000/s"},
		{Expr: "p99(first_byte)>1ms", Variant: "connect", Skipped: true, Detail: "not evaluated: no run has p99(first_byte)"},
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, ts, "connbench thresholds", time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC), "vm"); err != nil {
		t.Fatal(err)
	}
	junitCheck(t, b.Bytes(), 3, 1)
	if !strings.Contains(b.String(), `name="p99(connect)&gt;5ms [per-request]"`) {
		t.Errorf("testcase name not found:\n%s", b.String())
	}
	// No thresholds: an empty suite that still parses.
	b.Reset()
	if err := WriteJUnit(&b, nil, "s", time.Time{}, ""); err != nil {
		t.Fatal(err)
	}
	junitCheck(t, b.Bytes(), 0, 0)
}

func TestWriteThresholds(t *testing.T) {
	var b bytes.Buffer
	WriteThresholds(&b, []results.Threshold{{Expr: "a>1", Variant: "v", Failed: true, Detail: "d1"}, {Expr: "b>1", Variant: "v", Detail: "d2"}})
	out := b.String()
	if !strings.Contains(out, "FAILED a>1 [v]: d1") || !strings.Contains(out, "ok     b>1 [v]: d2") || !strings.HasSuffix(out, "1 of 2 thresholds failed\n") {
		t.Errorf("got:\n%s", out)
	}
	b.Reset()
	WriteThresholds(&b, nil)
	if b.Len() != 0 {
		t.Errorf("no thresholds: %q", b.String())
	}
}

func statRun(rate float64, p99 int64) *results.Run {
	return statRunN(rate, p99, 100_000)
}

func statRunN(rate float64, p99, count int64) *results.Run {
	p := results.Phase{}
	p.Count, p.P50Ns, p.P99Ns, p.P999Ns = count, p99/2, p99, 2*p99
	return &results.Run{Rates: results.Rates{TransactionsPerSec: rate}, Counts: results.Counts{Transactions: 1000},
		Phases: map[string]results.Phase{"transaction": p}}
}

// The statistics text for known samples: a clearly different pair, an
// identical pair, and too few runs.
func TestWriteStats(t *testing.T) {
	base := results.Group{Label: "pooled"}
	faster := results.Group{Label: "fast"}
	same := results.Group{Label: "same"}
	for i := range 6 {
		base.Runs = append(base.Runs, statRun(10000+float64(i*10), 1_000_000+int64(i)*1000))
		faster.Runs = append(faster.Runs, statRun(20000+float64(i*10), 1_000_000+int64(5-i)*1000))
		same.Runs = append(same.Runs, statRun(10000+float64((i+3)%6*10), 1_000_000+int64(i)*1000))
	}
	var b strings.Builder
	WriteStats(&b, stats.CompareGroups([]results.Group{base, faster, same}))
	out := b.String()
	for _, want := range []string{
		"Statistics over 6 runs per variant",
		"+99.75% (p=0.002)", // rate: 10,025 → 20,025
		"fast vs pooled: significant (6+6 runs, alpha 0.05): better: transactions/s +99.75%",
		"same vs pooled: no significant difference (6+6 runs, alpha 0.05)",
		"~ (p=1.000)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "±∞") || strings.Contains(out, "note:") {
		t.Errorf("6 runs: intervals must be finite, no note:\n%s", out)
	}
	b.Reset()
	WriteStats(&b, stats.CompareGroups([]results.Group{{Label: "a", Runs: base.Runs[:3]}, {Label: "b", Runs: faster.Runs[:3]}}))
	out = b.String()
	for _, want := range []string{"±∞", "b vs a: no verdict: 3+3 runs are too few", "note: 3 runs per variant are too few for any difference to be significant"} {
		if !strings.Contains(out, want) {
			t.Errorf("3 runs: missing %q in:\n%s", want, out)
		}
	}
}

// A percentile that rests on a handful of samples is marked.
func TestWriteStatsThin(t *testing.T) {
	a, b := results.Group{Label: "a"}, results.Group{Label: "b"}
	for i := range 6 {
		a.Runs = append(a.Runs, statRunN(100, 1_000_000+int64(i), 5_000)) // p99: 50 above, p99.9: 5
		b.Runs = append(b.Runs, statRunN(100, 1_000_000+int64(i), 5_000))
	}
	var sb strings.Builder
	WriteStats(&sb, stats.CompareGroups([]results.Group{a, b}))
	out := sb.String()
	var p99, p999 string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "transaction p99.9"):
			p999 = l
		case strings.Contains(l, "transaction p99"):
			p99 = l
		}
	}
	if strings.Contains(p99, "*") || strings.Count(p999, "*") != 2 || !strings.Contains(out, "note: * a run had fewer than 10 samples") {
		t.Errorf("p99 %q, p99.9 %q, want only the p99.9 marked, and the note:\n%s", p99, p999, out)
	}
}

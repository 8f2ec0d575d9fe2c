package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connbench/connbench/results"
)

// A run that breaks a threshold writes its full result with the outcome
// recorded, prints the thresholds last and exits 99; one that keeps them
// exits 0. A tiny real run against the built-in listener.
func TestFailOnExitStatus(t *testing.T) {
	dir := t.TempDir()
	out, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "j.xml")
	code, stdout, stderr := connbench(t, "run", "-n", "300", "-c", "2", "-q", "-o", out, "--junit", junit,
		"--fail-on", "rate<1e12", "--fail-on", "p99(connect) > 10s", "--fail-on", "failures>50%")
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d (stderr %q)", code, exitThresholds, stderr)
	}
	i := strings.LastIndex(stdout, "thresholds (--fail-on):")
	if i < 0 || !strings.HasSuffix(stdout, "1 of 3 thresholds failed\n") {
		t.Fatalf("thresholds are not printed last:\n%s", stdout)
	}
	if tail := stdout[i:]; !strings.Contains(tail, "FAILED rate<1e12 [per-request]") || !strings.Contains(tail, "ok     p99(connect)>10s") {
		t.Errorf("threshold lines:\n%s", tail)
	}
	if !strings.HasSuffix(stderr, "connbench: 1 of 3 thresholds failed (--fail-on)\n") {
		t.Errorf("stderr %q", stderr)
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].Counts.Transactions != 300 {
		t.Errorf("the result is not whole: %d runs", len(doc.Runs))
	}
	if len(doc.Thresholds) != 3 || !doc.Thresholds[0].Failed || doc.Thresholds[0].Over <= 0 || doc.Thresholds[1].Failed || doc.Thresholds[2].Failed {
		t.Errorf("thresholds in the JSON: %+v", doc.Thresholds)
	}
	if th := doc.Thresholds[0]; th.Value != doc.Runs[0].Rates.TransactionsPerSec || th.Limit != 1e12 || th.Unit != "per_sec" {
		t.Errorf("rate threshold %+v", th)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Suite struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &j); err != nil {
		t.Fatalf("junit: %v", err)
	}
	if j.Suite.Tests != 3 || j.Suite.Failures != 1 || len(j.Suite.Cases) != 3 || j.Suite.Cases[0].Failure == nil || j.Suite.Cases[0].Name != "rate<1e12 [per-request]" {
		t.Errorf("junit: %+v", j)
	}

	code, stdout, stderr = connbench(t, "run", "-n", "100", "-c", "2", "-q", "--fail-on", "rate>1e12")
	if code != exitOK || !strings.HasSuffix(stdout, "all 1 thresholds passed\n") {
		t.Errorf("passing threshold: exit %d, stdout tail %q, stderr %q", code, stdout[max(0, len(stdout)-200):], stderr)
	}
}

func TestFailOnBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--fail-on", "p99(connect)>5"}, []string{"--fail-on", `"p99(connect)>5"`, "needs a unit"}},
		{[]string{"run", "--fail-on", "latency>5ms"}, []string{"--fail-on", `unknown metric "latency"`}},
		{[]string{"run", "--fail-on", "p99(accept)>5ms"}, []string{"--fail-on", `unknown phase "accept"`}},
		{[]string{"run", "--fail-on", "rate=5"}, []string{"--fail-on", "operator"}},
		{[]string{"run", "--fail-on", "regression(rate)>5%"}, []string{"--fail-on", "regression() needs a baseline"}},
		{[]string{"--fail-on", "regression(rate)>5%"}, []string{"--fail-on", "regression() needs a baseline"}},
		{[]string{"run", "--junit", "x.xml"}, []string{"--junit", "needs at least one --fail-on"}},
		{[]string{"run", "--fail-on", "rate<1", "--junit", "-"}, []string{"--junit -"}},
		{[]string{"run", "--fail-on", "rate<1", "--junit", "a.json", "-o", "a.json"}, []string{"--junit", "-o"}},
		{[]string{"compare", "--vary", "nodelay=true,false", "--fail-on", "regression(rate)<5%"}, []string{"--fail-on", "takes > or >="}},
		{[]string{"compare", "--vary", "workload=per-request", "--fail-on", "regression(rate)>5%"}, []string{"--fail-on", "this comparison has one"}},
		{[]string{"compare", "--vary", "fail-on=rate<1,rate<2"}, []string{"--vary", "fail-on", "not a run flag that can vary"}},
		{[]string{"report", "x.json", "--fail-on", "rate<1"}, []string{"need --baseline"}},
		{[]string{"report", "--baseline", "a.json", "b.json", "c.json"}, []string{"one newer result file"}},
		{[]string{"report", "--baseline", "a.json", "b.json", "--format", "csv"}, []string{"text only"}},
		{[]string{"report", "--baseline", "a.json", "b.json", "--fail-on", "p99(x)>1ms"}, []string{"--fail-on", "unknown phase"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := connbench(t, tc.args...)
			if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want a one-line usage error", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
}

// repeated is a document of k repetitions of one variant, run i's rate
// rate+i and its transaction p99 p99+i µs.
func repeated(t *testing.T, label string, k int, rate float64, p99 int64) *results.Document {
	t.Helper()
	doc := rptDoc(t, label, 1000, 2000, 3000)
	run := doc.Runs[0]
	doc.Runs = nil
	for i := range k {
		r := run
		r.Repetition = i + 1
		r.Rates.TransactionsPerSec = rate + float64(i)
		r.Phases = map[string]results.Phase{}
		p := run.Phases["transaction"]
		p.P99Ns = p99 + int64(i)*1000
		r.Phases["transaction"] = p
		doc.Runs = append(doc.Runs, r)
	}
	return doc
}

func TestReportBaseline(t *testing.T) {
	dir := t.TempDir()
	old := rptSave(t, dir, "old.json", repeated(t, "per-request", 6, 10000, 1_000_000))
	slower := rptSave(t, dir, "slower.json", repeated(t, "per-request", 6, 8000, 1_300_000))
	same := rptSave(t, dir, "same.json", repeated(t, "per-request", 6, 10000, 1_000_000))
	few := rptSave(t, dir, "few.json", repeated(t, "per-request", 2, 5000, 9_000_000))
	junit := filepath.Join(dir, "j.xml")

	code, stdout, stderr := connbench(t, "report", "--baseline", old, slower, "--fail-on", "regression(p99(transaction))>5%",
		"--fail-on", "regression(rate)>50%", "--junit", junit)
	if code != exitThresholds {
		t.Fatalf("slower: exit %d, want %d; stderr %q", code, exitThresholds, stderr)
	}
	for _, w := range []string{"per-request (baseline: per-request)", "Statistics over 6 runs per variant", "-20.00% (p=0.002)", "+29.93% (p=0.002)",
		"new vs baseline: significant (6+6 runs, alpha 0.05)", "worse: transactions/s -20.00%, transaction p99 +29.93%",
		"FAILED regression(p99(transaction))>5% [per-request]", "ok     regression(rate)>50% [per-request]", "1 of 2 thresholds failed"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("slower: missing %q in:\n%s", w, stdout)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(data), `failures="1"`) {
		t.Errorf("junit: %v\n%s", err, data)
	}

	code, stdout, _ = connbench(t, "report", "--baseline", old, same, "--fail-on", "regression(p99(transaction))>5%")
	if code != exitOK || !strings.Contains(stdout, "new vs baseline: no significant difference") || !strings.Contains(stdout, "not significant at alpha 0.05") {
		t.Errorf("same: exit %d:\n%s", code, stdout)
	}

	code, stdout, _ = connbench(t, "report", "--baseline", old, few, "--fail-on", "regression(p99(transaction))>5%")
	if code != exitOK || !strings.Contains(stdout, "no verdict: 6+2 runs are too few") || !strings.Contains(stdout, "cannot be with 6+2 runs") ||
		!strings.Contains(stdout, "2 runs per variant are too few for any difference to be significant") {
		t.Errorf("few: exit %d:\n%s", code, stdout)
	}

	// A label missing from the baseline is said so; absolute thresholds
	// still apply to the new file.
	other := rptSave(t, dir, "other.json", func() *results.Document {
		d := repeated(t, "pooled", 6, 9000, 1_000_000)
		d.Runs = append(d.Runs, repeated(t, "per-request", 6, 10000, 1_000_000).Runs...)
		return d
	}())
	code, stdout, _ = connbench(t, "report", "--baseline", old, other, "--fail-on", "rate<9500")
	if code != exitThresholds || !strings.Contains(stdout, "pooled: no run in the baseline has this label") || !strings.Contains(stdout, "FAILED rate<9500 [pooled]") {
		t.Errorf("other: exit %d:\n%s", code, stdout)
	}
}

// compare --repeat reports the statistics, and says when the repeats are
// too few; its JSON keeps every repetition.
func TestCompareRepeatStatistics(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.json")
	code, stdout, stderr := connbench(t, "compare", "-n", "200", "-c", "2", "-q", "--repeat", "2", "--vary", "nodelay=true,false", "-o", out,
		"--fail-on", "regression(rate)>1000%")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"Statistics over 2 runs per variant", "nodelay=false vs nodelay=true: no verdict: 2+2 runs are too few",
		"ok     regression(rate)>1000% [nodelay=false]", "cannot be with 2+2 runs"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("missing %q in:\n%s", w, stdout)
		}
	}
	doc, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var reps []int
	for _, r := range doc.Runs {
		reps = append(reps, r.Repetition)
		if r.Counts.Transactions != 200 {
			t.Errorf("run %s #%d: %d transactions", r.Label, r.Repetition, r.Counts.Transactions)
		}
	}
	if b, _ := json.Marshal(reps); string(b) != "[1,1,2,2]" {
		t.Errorf("repetitions %s, want each kept: [1,1,2,2]", b)
	}
	if len(doc.Thresholds) != 1 || doc.Thresholds[0].Variant != "nodelay=false" {
		t.Errorf("thresholds %+v", doc.Thresholds)
	}
}

// report shows the outcomes a run recorded, and its exit status is not the
// run's: rendering a file is not a test.
func TestReportShowsRecordedThresholds(t *testing.T) {
	dir := t.TempDir()
	doc := rptDoc(t, "per-request", 1000, 2000)
	doc.Thresholds = []results.Threshold{{Expr: "rate<1e12", Variant: "per-request", Failed: true, Detail: "rate = 1/s < 1e+12/s"}}
	code, stdout, _ := connbench(t, "report", rptSave(t, dir, "r.json", doc))
	if code != exitOK || !strings.HasSuffix(stdout, "FAILED rate<1e12 [per-request]: rate = 1/s < 1e+12/s\n1 of 1 thresholds failed\n") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

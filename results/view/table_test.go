package view

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

var update = flag.Bool("update", false, "rewrite results/view/testdata/*.golden from the current output")

func summary(count, p50, p90, p99, p999, max int64) results.Phase {
	return results.Phase{Summary: histogram.Summary{Count: count, MinNs: p50 / 2, MeanNs: float64(p90),
		P50Ns: p50, P90Ns: p90, P99Ns: p99, P999Ns: p999, MaxNs: max}}
}

// tableDoc is a fixed document: pooled at 100,000/s and per-request at
// 25,000/s over 2 s, with one failure class and notes. partial marks the
// per-request run (and the document) as stopped early.
func tableDoc(partial bool) *results.Document {
	pooled := results.Run{
		Label: "pooled", Workload: "pooled", Target: "127.0.0.1:9000", BuiltinListener: true,
		DurationNs: 2_000_000_000,
		Counts:     results.Counts{Connections: 16, Transactions: 200_000, BytesSent: 200_000, BytesReceived: 200_000},
		Rates:      results.Rates{ConnsPerSec: 8, TransactionsPerSec: 100_000},
		Failures:   map[string]int64{},
		CPU:        results.CPU{UserNs: 100_000_000, SysNs: 1_300_000_000},
		Phases: map[string]results.Phase{
			"handshake":   summary(16, 45_100, 61_200, 88_000, 88_000, 88_000),
			"first_byte":  summary(200_000, 9_870, 15_400, 41_000, 250_000, 2_340_000),
			"response":    summary(200_000, 9_880, 15_500, 41_200, 251_000, 2_350_000),
			"transaction": summary(200_000, 10_000, 16_000, 42_000, 260_000, 2_400_000),
		},
		Listener: &results.Listener{Addr: "127.0.0.1:9000", Accepted: 16, Requests: 200_004, CPUUserNs: 60_000_000, CPUSysNs: 900_000_000},
		Notes:    []string{"the built-in listener ran in this process on the same CPUs."},
	}
	perReq := results.Run{
		Label: "per-request", Workload: "per-request", Target: "127.0.0.1:9000", BuiltinListener: true,
		DurationNs:    2_000_000_000,
		Counts:        results.Counts{Connections: 50_012, Transactions: 50_000, BytesSent: 50_012, BytesReceived: 50_000},
		Rates:         results.Rates{ConnsPerSec: 25_006, TransactionsPerSec: 25_000},
		Failures:      map[string]int64{"ECONNREFUSED": 12, "EADDRNOTAVAIL": 0},
		FailuresTotal: 12,
		CPU:           results.CPU{UserNs: 125_000_000, SysNs: 2_000_000_000},
		Phases: map[string]results.Phase{
			"handshake":   summary(50_012, 61_000, 150_000, 700_000, 20_600_000, 56_600_000),
			"first_byte":  summary(50_000, 12_300, 52_000, 1_550_000, 35_800_000, 36_400_000),
			"response":    summary(50_000, 12_400, 52_100, 1_560_000, 35_900_000, 36_500_000),
			"transaction": summary(50_000, 85_000, 210_000, 2_100_000, 36_000_000, 36_600_000),
		},
		Listener: &results.Listener{Addr: "127.0.0.1:9000", Accepted: 50_016, Requests: 50_012, CPUUserNs: 75_000_000, CPUSysNs: 1_500_000_000},
		Notes: []string{
			"graceful close (--close fin) leaves each connection in TIME_WAIT on the client for 60 s.",
			"the built-in listener ran in this process on the same CPUs.",
		},
	}
	if partial {
		perReq.Partial = true
		perReq.DurationNs = 1_234_567_890
	}
	return &results.Document{Schema: results.Schema, Partial: partial, Runs: []results.Run{pooled, perReq}}
}

// refusedDoc is one run against a closed port: failures only.
func refusedDoc() *results.Document {
	return &results.Document{Schema: results.Schema, Runs: []results.Run{{
		Label: "per-request", Workload: "per-request", Target: "127.0.0.1:1",
		DurationNs:    456_000,
		Failures:      map[string]int64{"ECONNREFUSED": 10},
		FailuresTotal: 10,
		Phases: map[string]results.Phase{
			"handshake": {}, "first_byte": {}, "response": {}, "transaction": {},
		},
	}}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./results -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("WriteTable output differs from %s (go test ./results -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func render(t *testing.T, doc *results.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTable(&b, doc); err != nil {
		t.Fatalf("WriteTable: %v", err)
	}
	return b.Bytes()
}

func TestWriteTableGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  *results.Document
	}{
		{"table", tableDoc(false)},
		{"table_partial", tableDoc(true)},
		{"table_refused", refusedDoc()},
		{"table_no_runs", &results.Document{Schema: results.Schema}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.doc)
			golden(t, tc.name, got)
			// Rendering does not depend on map order.
			for i := 0; i < 5; i++ {
				if again := render(t, tc.doc); !bytes.Equal(again, got) {
					t.Fatalf("WriteTable is not deterministic:\n%s\n---\n%s", again, got)
				}
			}
		})
	}
}

// These check the golden content itself, so that a wrong -update is caught.
func TestWriteTableContent(t *testing.T) {
	out := string(render(t, tableDoc(false)))
	for _, want := range []string{
		"Pooling gives 4.00× the requests per second",
		"pooled  per-request",
		"ECONNREFUSED",
		"note (per-request): graceful close",
		"\nnote: the built-in listener",
		"listener CPU µs/txn (user+sys)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, re := range []string{
		`(?m)^ +transactions/s +100,000 +25,000 *$`,
		`(?m)^ +new connections/s +8 +25,006 *$`,
		`(?m)^ +failures +0 +12 *$`,
		`(?m)^ +failures ECONNREFUSED +0 +12 *$`,
		`(?m)^ +transaction p50 +10\.0 µs +85\.0 µs *$`,
		`(?m)^ +client CPU µs/txn \(user\+sys\) +0\.50\+6\.50 +2\.50\+40\.00 *$`,
		`(?m)^ +listener CPU µs/txn \(user\+sys\) +0\.30\+4\.50 +1\.50\+30\.00 *$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("table has no line matching %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "EADDRNOTAVAIL") {
		t.Errorf("a failure class counted 0 in every run is shown:\n%s", out)
	}
	if strings.Contains(out, "partial") {
		t.Errorf("complete runs marked partial:\n%s", out)
	}
	// Rows appear in phase order.
	last := -1
	for _, ph := range []string{"handshake p50", "first byte p50", "response p50", "transaction p50"} {
		i := strings.Index(out, ph)
		if i < 0 || i < last {
			t.Errorf("%q missing or out of order", ph)
		}
		last = i
	}

	part := string(render(t, tableDoc(true)))
	if !strings.Contains(part, "per-request (partial)") {
		t.Errorf("partial run not labelled:\n%s", part)
	}
	if !strings.HasSuffix(part, "note: partial results: the run was stopped before its end\n") {
		t.Errorf("partial table does not end with the partial note:\n%s", part)
	}

	ref := string(render(t, refusedDoc()))
	if strings.Contains(ref, "Pooling") || strings.Contains(ref, "p50") {
		t.Errorf("a run without transactions shows a headline or latencies:\n%s", ref)
	}
	if !strings.Contains(ref, "ECONNREFUSED") || !strings.Contains(ref, "—") {
		t.Errorf("refused run table lacks the failure class or the dash for no data:\n%s", ref)
	}
}

func TestHeadline(t *testing.T) {
	h := Headline(tableDoc(false))
	if len(h) != 3 {
		t.Fatalf("Headline gave %d sentences, want 3: %q", len(h), h)
	}
	if want := "Pooling gives 4.00× the requests per second of a new connection per request (100,000/s vs 25,000/s)."; h[0] != want {
		t.Errorf("ratio sentence:\n got %q\nwant %q", h[0], want)
	}
	if want := "A new connection adds 75.0 µs at p50 and 2.06 ms at p99 to each request (transaction latency 10.0 µs → 85.0 µs at p50, 42.0 µs → 2.10 ms at p99)."; h[1] != want {
		t.Errorf("cost sentence:\n got %q\nwant %q", h[1], want)
	}
	if want := "The handshake alone takes 61.0 µs at p50 and 700 µs at p99."; h[2] != want {
		t.Errorf("handshake sentence:\n got %q\nwant %q", h[2], want)
	}

	for _, tc := range []struct {
		pooled, perReq float64
		want           string
	}{
		{100_000, 25_000, "Pooling gives 4.00× the requests per second of a new connection per request (100,000/s vs 25,000/s)."},
		{30_000, 20_000, "Pooling gives 1.50× the requests per second of a new connection per request (30,000/s vs 20,000/s)."},
		{1234.4, 1234.4, "Pooling gives 1.00× the requests per second of a new connection per request (1,234/s vs 1,234/s)."},
		{2_000, 3_000, "Pooling gives 0.67× the requests per second of a new connection per request (2,000/s vs 3,000/s)."},
	} {
		d := tableDoc(false)
		d.Runs[0].Rates.TransactionsPerSec, d.Runs[1].Rates.TransactionsPerSec = tc.pooled, tc.perReq
		if h := Headline(d); len(h) == 0 || h[0] != tc.want {
			t.Errorf("%v/s vs %v/s: headline %q, want first %q", tc.pooled, tc.perReq, h, tc.want)
		}
	}

	// Per-request faster at p50: the difference is shown negative.
	d := tableDoc(false)
	p := d.Runs[1].Phases["transaction"]
	p.P50Ns = 4_000
	d.Runs[1].Phases["transaction"] = p
	if h := Headline(d); len(h) < 2 || !strings.HasPrefix(h[1], "A new connection adds −6.00 µs at p50") {
		t.Errorf("negative difference: %q", h)
	}

	// No headline without both workloads, or with two of one kind.
	one := tableDoc(false)
	one.Runs = one.Runs[:1]
	if h := Headline(one); h != nil {
		t.Errorf("one run: headline %q", h)
	}
	// (Runs with the same label are repetitions of one variant; two pooled
	// variants have different labels.)
	two := tableDoc(false)
	two.Runs = append(two.Runs, two.Runs[0])
	two.Runs[2].Label = "pooled, nodelay=true"
	if h := Headline(two); h != nil {
		t.Errorf("two pooled runs: headline %q", h)
	}
	// No rate sentence when a rate is 0; no latency sentence without data.
	zero := tableDoc(false)
	zero.Runs[1].Rates.TransactionsPerSec = 0
	zero.Runs[1].Phases = map[string]results.Phase{}
	if h := Headline(zero); len(h) != 0 {
		t.Errorf("per-request without transactions: headline %q", h)
	}
}

func TestDur(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want string
	}{
		{0, "0 ns"},
		{1, "1 ns"},
		{999, "999 ns"},
		{1000, "1.00 µs"},
		{1234, "1.23 µs"},
		{12_345, "12.3 µs"},
		{123_456, "123 µs"},
		{1_000_000, "1.00 ms"},
		{1_500_000, "1.50 ms"},
		{1_000_000_000, "1.00 s"},
		{60_000_000_000, "60.0 s"},
		{3_600_000_000_000, "3600 s"},
		// Three significant digits across a unit or a digit boundary:
		// rounding must not give four digits or 1000 of a smaller unit.
		{9_999, "10.0 µs"},
		{99_999, "100 µs"},
		{999_999, "1.00 ms"},
		{999_999_999, "1.00 s"},
	} {
		if got := Dur(tc.ns); got != tc.want {
			t.Errorf("Dur(%d) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{12_345, "12,345"},
		{999_999, "999,999"},
		{1_000_000, "1,000,000"},
		{1_000_000_000, "1,000,000,000"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{-1, "-1"},
		{-999, "-999"},
		{-1000, "-1,000"},
		{-999_999, "-999,999"},
		{-1_000_000_000, "-1,000,000,000"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	} {
		if got := Count(tc.n); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

package view

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// The test documents below are results' own (results_test.go), copied:
// a test file cannot be shared between two packages.

// recorder returns a Recorder holding vals (nanoseconds).
func recorder(vals ...int64) *histogram.Recorder {
	r := histogram.New()
	for _, v := range vals {
		r.Record(v)
	}
	return r
}

func phaseOf(t testing.TB, r *histogram.Recorder) results.Phase {
	t.Helper()
	p, err := results.NewPhase(r)
	if err != nil {
		t.Fatalf("NewPhase: %v", err)
	}
	return p
}

// sampleDoc is a two-run document whose phases come from real recorders,
// returned by run index and phase name so tests can compare histograms.
func sampleDoc(t testing.TB) (*results.Document, [2]map[string]*histogram.Recorder) {
	t.Helper()
	var recs [2]map[string]*histogram.Recorder
	recs[0] = map[string]*histogram.Recorder{
		"handshake":   recorder(41_000, 52_000, 63_000, 74_000),
		"first_byte":  recorder(10_000, 11_000, 12_000, 13_000, 1_500_000),
		"response":    recorder(10_500, 11_500, 12_500, 13_500, 1_600_000),
		"transaction": recorder(11_000, 12_000, 13_000, 14_000, 1_700_000),
	}
	// A value past HighestNs makes the overflow count travel too.
	tx := recorder(90_000, 100_000, 250_000, 7_000_000)
	tx.Record(histogram.HighestNs + 5)
	recs[1] = map[string]*histogram.Recorder{
		"handshake":   recorder(45_000, 50_000, 55_000, 2_000_000),
		"first_byte":  recorder(20_000, 21_000, 22_000, 3_000_000),
		"response":    recorder(20_500, 21_500, 22_500, 3_000_500),
		"transaction": tx,
		"empty":       histogram.New(),
	}
	phases := func(m map[string]*histogram.Recorder) map[string]results.Phase {
		out := map[string]results.Phase{}
		for k, r := range m {
			out[k] = phaseOf(t, r)
		}
		return out
	}
	start := time.Date(2026, 11, 24, 15, 58, 2, 938788003, time.UTC)
	doc := &results.Document{
		Schema:    results.Schema,
		Tool:      results.Tool{Name: "connbench", Version: "0.1.0+abcdef012345", GoVersion: "go1.26.8"},
		StartedAt: start,
		Command:   []string{"connbench", "-d", "1s", "-o", "x.json"},
		Host:      results.Host{Hostname: "vm", Kernel: "6.18.44", CPUs: 2, OpenFileLimit: 20000},
		Sysctls:   map[string]string{"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768 60999"},
		Partial:   true,
		Runs: []results.Run{
			{
				Label: "pooled", Workload: "pooled", Target: "127.0.0.1:56411", BuiltinListener: true,
				Config:     json.RawMessage(`{"workload":"pooled","concurrency":16,"socket":{"close":"fin","local_port_range":[0,0]}}`),
				StartedAt:  start.Add(321 * time.Microsecond),
				DurationNs: 1_000_000_000,
				Counts:     results.Counts{Connections: 16, Transactions: 41847, BytesSent: 41852, BytesReceived: 41847},
				Rates:      results.Rates{ConnsPerSec: 16, TransactionsPerSec: 41847.25},
				Failures:   map[string]int64{},
				CPU: results.CPU{UserNs: 21467000, SysNs: 260585000, UserNsPerConn: 1341687.5,
					UserNsPerTransaction: 512.9877888498578, ProcessUserNs: 33672000, ProcessSysNs: 593123000},
				Phases: phases(recs[0]),
				Listener: &results.Listener{Addr: "127.0.0.1:56411", Accepted: 16, Requests: 41852, BytesReceived: 41852,
					BytesSent: 41852, Resets: 5, CPUUserNs: 11179000, CPUSysNs: 263226000},
				Notes: []string{"the built-in listener ran in this process"},
			},
			{
				Label: "per-request", Workload: "per-request", Target: "[::1]:80",
				Config:        json.RawMessage(`{"workload":"per-request"}`),
				StartedAt:     start.Add(time.Second),
				DurationNs:    512_345_678,
				Partial:       true,
				Counts:        results.Counts{Connections: 5, Transactions: 5, BytesSent: 5, BytesReceived: 5},
				Rates:         results.Rates{ConnsPerSec: 9.759, TransactionsPerSec: 9.759},
				Failures:      map[string]int64{"ECONNREFUSED": 3, "connect_timeout": 1},
				FailuresTotal: 4,
				Phases:        phases(recs[1]),
			},
		},
	}
	return doc, recs
}

func encode(t testing.TB, doc *results.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := results.Encode(&b, doc); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.Bytes()
}

// controlIn returns the first character Printable (or PrintableText, with
// layout) must not let through, or -1.
func controlIn(s string, layout bool) rune {
	for _, r := range s {
		switch {
		case layout && (r == '\n' || r == '\t'):
		case r < 0x20, r >= 0x7f && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return r
		}
	}
	return -1
}

// FuzzDecodeTable: a document the reader accepts (inputs up to 1 MiB,
// seeded from results' FuzzDecode corpus) renders as text without a
// terminal control character.
func FuzzDecodeTable(f *testing.F) {
	doc, _ := sampleDoc(f)
	valid := encode(f, doc)
	f.Add(valid)
	f.Add(valid[:len(valid)/3])
	f.Add([]byte(`{"schema":"connbench/v1","runs":[{"phases":{"x":{"hdr":"HISTFAAAAB542pJpmczAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwAQA"}}}]}`))
	f.Add([]byte(`{"schema":"connbench/v1","runs":[{"phases":{"x":{"count":1,"overflow":2,"hdr":""}}}]}`))
	f.Add([]byte(`null`))
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "fuzz", "FuzzDecode", "*"))
	for _, p := range seeds {
		if in, ok := corpusBytes(p); ok {
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<20 {
			return
		}
		d, err := results.Decode(bytes.NewReader(in))
		if err != nil {
			return
		}
		var text strings.Builder
		if err := WriteTable(&text, d); err != nil {
			t.Fatal(err)
		}
		if bad := controlIn(text.String(), true); bad >= 0 {
			t.Fatalf("table holds control character %U:\n%q", bad, text.String())
		}
	})
}

// corpusBytes reads one "go test fuzz v1" corpus file holding a []byte.
func corpusBytes(path string) ([]byte, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	_, v, ok := strings.Cut(string(data), "\n")
	v = strings.TrimSpace(v)
	if !ok || !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	q, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(v, "[]byte("), ")"))
	if err != nil {
		return nil, false
	}
	return []byte(q), true
}

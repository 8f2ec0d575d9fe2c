package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/connbench/connbench/histogram"
)

// recorder returns a Recorder holding vals (nanoseconds).
func recorder(vals ...int64) *histogram.Recorder {
	r := histogram.New()
	for _, v := range vals {
		r.Record(v)
	}
	return r
}

func phaseOf(t testing.TB, r *histogram.Recorder) Phase {
	t.Helper()
	p, err := NewPhase(r)
	if err != nil {
		t.Fatalf("NewPhase: %v", err)
	}
	return p
}

// sampleDoc is a two-run document whose phases come from real recorders,
// returned by run index and phase name so tests can compare histograms.
func sampleDoc(t testing.TB) (*Document, [2]map[string]*histogram.Recorder) {
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
	phases := func(m map[string]*histogram.Recorder) map[string]Phase {
		out := map[string]Phase{}
		for k, r := range m {
			out[k] = phaseOf(t, r)
		}
		return out
	}
	start := time.Date(2026, 11, 24, 15, 58, 2, 938788003, time.UTC)
	doc := &Document{
		Schema:    Schema,
		Tool:      Tool{Name: "connbench", Version: "0.1.0+abcdef012345", GoVersion: "go1.26.8"},
		StartedAt: start,
		Command:   []string{"connbench", "-d", "1s", "-o", "x.json"},
		Host:      Host{Hostname: "vm", Kernel: "6.18.44", CPUs: 2, OpenFileLimit: 20000},
		Sysctls:   map[string]string{"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768 60999"},
		Partial:   true,
		Runs: []Run{
			{
				Label: "pooled", Workload: "pooled", Target: "127.0.0.1:56411", BuiltinListener: true,
				Config:     json.RawMessage(`{"workload":"pooled","concurrency":16,"socket":{"close":"fin","local_port_range":[0,0]}}`),
				StartedAt:  start.Add(321 * time.Microsecond),
				DurationNs: 1_000_000_000,
				Counts:     Counts{Connections: 16, Transactions: 41847, BytesSent: 41852, BytesReceived: 41847},
				Rates:      Rates{ConnsPerSec: 16, TransactionsPerSec: 41847.25},
				Failures:   map[string]int64{},
				CPU: CPU{UserNs: 21467000, SysNs: 260585000, UserNsPerConn: 1341687.5,
					UserNsPerTransaction: 512.9877888498578, ProcessUserNs: 33672000, ProcessSysNs: 593123000},
				Phases: phases(recs[0]),
				Listener: &Listener{Addr: "127.0.0.1:56411", Accepted: 16, Requests: 41852, BytesReceived: 41852,
					BytesSent: 41852, Resets: 5, CPUUserNs: 11179000, CPUSysNs: 263226000},
				Notes: []string{"the built-in listener ran in this process"},
			},
			{
				Label: "per-request", Workload: "per-request", Target: "[::1]:80",
				Config:        json.RawMessage(`{"workload":"per-request"}`),
				StartedAt:     start.Add(time.Second),
				DurationNs:    512_345_678,
				Partial:       true,
				Counts:        Counts{Connections: 5, Transactions: 5, BytesSent: 5, BytesReceived: 5},
				Rates:         Rates{ConnsPerSec: 9.759, TransactionsPerSec: 9.759},
				Failures:      map[string]int64{"ECONNREFUSED": 3, "connect_timeout": 1},
				FailuresTotal: 4,
				Phases:        phases(recs[1]),
			},
		},
	}
	return doc, recs
}

func encode(t testing.TB, doc *Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, doc); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.Bytes()
}

// compactConfigs replaces every run's Config with its compact form: the
// indenting encoder re-indents raw JSON, which is the same value.
func compactConfigs(t testing.TB, doc *Document) {
	t.Helper()
	for i := range doc.Runs {
		var b bytes.Buffer
		if err := json.Compact(&b, doc.Runs[i].Config); err != nil {
			t.Fatalf("run %d config is not JSON: %v", i, err)
		}
		doc.Runs[i].Config = b.Bytes()
	}
}

func TestRoundTrip(t *testing.T) {
	doc, recs := sampleDoc(t)
	data := encode(t, doc)
	if !bytes.HasPrefix(data, []byte("{\n  \"schema\": \"connbench/v1\",\n")) {
		t.Errorf("encoding does not start with the schema key, indented:\n%.80s", data)
	}
	got, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	compactConfigs(t, got)
	if !reflect.DeepEqual(got, doc) {
		t.Errorf("decoded document differs from the encoded one\n got: %+v\nwant: %+v", got, doc)
	}
	if !got.StartedAt.Equal(doc.StartedAt) || got.StartedAt.Location() != time.UTC {
		t.Errorf("started_at: got %v, want %v in UTC", got.StartedAt, doc.StartedAt)
	}
	for i, run := range got.Runs {
		for name, want := range recs[i] {
			p, ok := run.Phases[name]
			if !ok {
				t.Errorf("run %d: phase %s lost", i, name)
				continue
			}
			rec, err := p.Recorder()
			if err != nil {
				t.Errorf("run %d phase %s: Recorder: %v", i, name, err)
				continue
			}
			if !rec.Hist().Equals(want.Hist()) {
				t.Errorf("run %d phase %s: decoded histogram differs from the recorded one", i, name)
			}
			if rec.Overflow() != want.Overflow() || rec.Count() != want.Count() {
				t.Errorf("run %d phase %s: count/overflow %d/%d, want %d/%d", i, name,
					rec.Count(), rec.Overflow(), want.Count(), want.Overflow())
			}
			if rec.Summary() != p.Summary {
				t.Errorf("run %d phase %s: summary of the decoded histogram %+v != stored summary %+v", i, name, rec.Summary(), p.Summary)
			}
		}
	}
	if got.Runs[1].Phases["transaction"].Overflow != 1 {
		t.Errorf("overflow did not survive: %+v", got.Runs[1].Phases["transaction"].Summary)
	}
	// Encoding is stable: the decoded document encodes to the same bytes.
	if again := encode(t, got); !bytes.Equal(again, data) {
		t.Errorf("re-encoding the decoded document changed it:\n%s\n---\n%s", again, data)
	}
}

func TestEncodeKeys(t *testing.T) {
	doc, _ := sampleDoc(t)
	doc.Command = nil
	doc.Runs[0].Listener = nil
	doc.Runs[0].Notes = nil
	var m map[string]any
	if err := json.Unmarshal(encode(t, doc), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "tool", "started_at", "host", "sysctls", "partial", "runs"} {
		if _, ok := m[k]; !ok {
			t.Errorf("document key %q missing", k)
		}
	}
	if _, ok := m["command"]; ok {
		t.Errorf("empty command should be left out")
	}
	run := m["runs"].([]any)[0].(map[string]any)
	for _, k := range []string{"label", "workload", "target", "builtin_listener", "config", "started_at",
		"duration_ns", "partial", "counts", "rates", "failures", "failures_total", "cpu", "phases"} {
		if _, ok := run[k]; !ok {
			t.Errorf("run key %q missing", k)
		}
	}
	for _, k := range []string{"listener", "notes"} {
		if _, ok := run[k]; ok {
			t.Errorf("empty run key %q should be left out", k)
		}
	}
	ph := run["phases"].(map[string]any)["handshake"].(map[string]any)
	for _, k := range []string{"count", "min_ns", "mean_ns", "stddev_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "overflow", "hdr"} {
		if _, ok := ph[k]; !ok {
			t.Errorf("phase key %q missing", k)
		}
	}
	if hdr, _ := ph["hdr"].(string); !strings.HasPrefix(hdr, "HISTF") {
		t.Errorf("hdr %.20q is not V2 compressed base64", hdr)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	doc, _ := sampleDoc(t)
	dir := t.TempDir()

	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(dir, "missing", "r.json")
		err := WriteFile(path, doc)
		if err == nil {
			t.Fatal("WriteFile into a missing directory succeeded")
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
		if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the missing directory was created or cannot be checked: %v", err)
		}
		if n := dirNames(t, dir); len(n) != 0 {
			t.Errorf("left behind: %v", n)
		}
	})

	t.Run("success", func(t *testing.T) {
		path := filepath.Join(dir, "r.json")
		if err := os.WriteFile(path, []byte("old content"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(path, doc); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		compactConfigs(t, got)
		if !reflect.DeepEqual(got, doc) {
			t.Errorf("file does not hold the document written")
		}
		b, _ := os.ReadFile(path)
		if !bytes.Equal(b, encode(t, doc)) {
			t.Errorf("file content is not Encode's output")
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want the replaced file's 0600", st.Mode().Perm())
		}
		if n := dirNames(t, dir); !reflect.DeepEqual(n, []string{"r.json"}) {
			t.Errorf("directory holds %v, want only r.json (no temporary files)", n)
		}
	})

	t.Run("path is a directory", func(t *testing.T) {
		d := t.TempDir()
		sub := filepath.Join(d, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(sub, doc); err == nil {
			t.Fatal("WriteFile over a directory succeeded")
		}
		if n := dirNames(t, d); !reflect.DeepEqual(n, []string{"sub"}) {
			t.Errorf("directory holds %v, want only sub (no temporary files)", n)
		}
		if err := CheckWritable(sub); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("CheckWritable(directory) = %v, want an error saying it is a directory", err)
		}
	})

	t.Run("CheckWritable", func(t *testing.T) {
		d := t.TempDir()
		if err := CheckWritable(filepath.Join(d, "x.json")); err != nil {
			t.Errorf("CheckWritable in a writable directory: %v", err)
		}
		if err := CheckWritable(filepath.Join(d, "missing", "x.json")); err == nil {
			t.Errorf("CheckWritable in a missing directory succeeded")
		}
		if n := dirNames(t, d); len(n) != 0 {
			t.Errorf("CheckWritable left %v behind", n)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	doc, _ := sampleDoc(t)
	valid := encode(t, doc)

	withSchema := func(s string) []byte {
		d, _ := sampleDoc(t)
		d.Schema = s
		return encode(t, d)
	}
	withPhase := func(run int, phase string, f func(p *Phase)) []byte {
		d, _ := sampleDoc(t)
		p := d.Runs[run].Phases[phase]
		f(&p)
		d.Runs[run].Phases[phase] = p
		return encode(t, d)
	}
	otherGeometry, err := hdrhistogram.New(1, 1_000_000, 2).Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		in       []byte
		want     []string // substrings of the error
		is       error    // wrapped error, or nil
		notIs    error    // must not be wrapped
		notEmpty bool
	}{
		{name: "not JSON", in: []byte("hello, world\n"), want: []string{"decode"}, notIs: ErrNotResult},
		{name: "empty", in: nil, want: []string{"decode"}},
		{name: "truncated", in: valid[:len(valid)/2], want: []string{"decode"}, notIs: ErrNotResult},
		{name: "truncated by one byte", in: bytes.TrimSpace(valid)[:len(bytes.TrimSpace(valid))-1], want: []string{"decode"}},
		{name: "JSON array", in: []byte(`[1,2]`), want: []string{"decode"}},
		{name: "wrong type", in: []byte(`{"schema":"connbench/v1","runs":{"a":1}}`), want: []string{"decode"}},
		{name: "other schema", in: withSchema("something/else"), want: []string{"not a connbench result", `"something/else"`}, is: ErrNotResult},
		{name: "no schema", in: []byte(`{"runs":[]}`), want: []string{"not a connbench result"}, is: ErrNotResult},
		{name: "JSON null", in: []byte(`null`), want: []string{"not a connbench result"}, is: ErrNotResult},
		{name: "newer version", in: withSchema("connbench/v2"), want: []string{`"connbench/v2"`, "another connbench version"}, notIs: ErrNotResult},
		{name: "older version", in: withSchema("connbench/v0"), want: []string{`"connbench/v0"`, "another connbench version"}, notIs: ErrNotResult},
		{name: "corrupt hdr", in: withPhase(1, "transaction", func(p *Phase) { p.Hdr = "HISTFAAA!!not base64!!" }),
			want: []string{"run 1", "per-request", "phase transaction"}},
		{name: "empty hdr", in: withPhase(0, "handshake", func(p *Phase) { p.Hdr = "" }),
			want: []string{"run 0", "pooled", "phase handshake"}},
		{name: "hdr of other geometry", in: withPhase(0, "response", func(p *Phase) { p.Hdr = string(otherGeometry) }),
			want: []string{"run 0", "phase response"}, is: histogram.ErrGeometry},
		{name: "overflow above count", in: withPhase(1, "handshake", func(p *Phase) { p.Overflow = p.Count + 1 }),
			want: []string{"run 1", "phase handshake"}, is: histogram.ErrOverflow},
		{name: "negative overflow", in: withPhase(1, "handshake", func(p *Phase) { p.Overflow = -1 }),
			want: []string{"run 1", "phase handshake"}, is: histogram.ErrOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", got)
			}
			if got != nil {
				t.Errorf("Decode returned a document with its error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if tc.notIs != nil && errors.Is(err, tc.notIs) {
				t.Errorf("error %q wraps %v", err, tc.notIs)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.json")
	if _, err := ReadFile(missing); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want a not-exist error", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"connbench/v9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "another connbench version") {
		t.Errorf("ReadFile(v9 file) = %v, want an error naming the file and the version", err)
	}
}

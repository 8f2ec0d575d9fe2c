package view

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// twoSources is the fixture twice, as two generators' files: the second
// is the odd half of a split, on another host, with other sysctls.
func twoSources(t testing.TB) []results.Source {
	a, _, _ := reportDoc(t, 0, 1)
	b, _, _ := reportDoc(t, 1, 2)
	b.Host.Hostname = "gen2"
	b.Sysctls = map[string]string{"net.ipv4.tcp_tw_reuse": "1"}
	b.Runs = append(b.Runs, results.Run{Label: "connect", Workload: "connect", Target: "127.0.0.1:9000",
		DurationNs: 1e9, Failures: map[string]int64{}, Phases: map[string]results.Phase{"handshake": phaseOf(t, recorder(10_000, 20_000, 30_000))}})
	return []results.Source{{Name: "main.json", Doc: a}, {Name: "gen2.json", Doc: b}}
}

func renderWith(t *testing.T, f func(b *bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReportGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, b *bytes.Buffer) error
	}{
		{"report_text", func(t *testing.T, b *bytes.Buffer) error { return WriteReport(b, fixtureSources(t)) }},
		{"report_text_two", func(t *testing.T, b *bytes.Buffer) error { return WriteReport(b, twoSources(t)) }},
		{"report_csv", func(t *testing.T, b *bytes.Buffer) error { return WriteCSV(b, twoSources(t)) }},
		{"report_series_csv", func(t *testing.T, b *bytes.Buffer) error { return WriteSeriesCSV(b, fixtureSources(t)) }},
		{"report_hgrm", func(t *testing.T, b *bytes.Buffer) error {
			_, err := WriteHgrm(b, fixtureSources(t), []string{"transaction", "handshake"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderWith(t, func(b *bytes.Buffer) error { return tc.f(t, b) })
			golden(t, tc.name, got)
			for i := 0; i < 3; i++ {
				if again := renderWith(t, func(b *bytes.Buffer) error { return tc.f(t, b) }); !bytes.Equal(again, got) {
					t.Fatalf("%s output is not deterministic", tc.name)
				}
			}
		})
	}
}

// The text report of one file is exactly the table its run printed.
func TestReportTextOneFileIsTheTable(t *testing.T) {
	srcs := fixtureSources(t)
	got := renderWith(t, func(b *bytes.Buffer) error { return WriteReport(b, srcs) })
	if want := render(t, srcs[0].Doc); !bytes.Equal(got, want) {
		t.Errorf("report of one file differs from WriteTable:\n%s\n---\n%s", got, want)
	}
	two := string(renderWith(t, func(b *bytes.Buffer) error { return WriteReport(b, twoSources(t)) }))
	for _, want := range []string{
		"main.json: 2 runs, connbench 0.1.0 on vm (kernel 6.18.44), started 2026-11-24T16:00:00Z\n",
		"gen2.json: 3 runs, connbench 0.1.0 on gen2",
		"main.json: pooled", "gen2.json: per-request", "note (main.json: pooled): from main.json (host vm, kernel 6.18.44)",
	} {
		if !strings.Contains(two, want) {
			t.Errorf("text report of two files lacks %q:\n%s", want, two)
		}
	}
	if strings.Contains(two, "gen2.json: connect") {
		t.Errorf("a label only one file has was prefixed:\n%s", two)
	}
}

func readCSV(t *testing.T, data []byte) (header []string, rows []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, data)
	}
	if len(recs) == 0 {
		t.Fatal("no header row")
	}
	header = recs[0]
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range header {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return header, rows
}

func TestCSV(t *testing.T) {
	srcs := twoSources(t)
	header, rows := readCSV(t, renderWith(t, func(b *bytes.Buffer) error { return WriteCSV(b, srcs) }))
	if len(rows) != 5 {
		t.Fatalf("%d rows, want one per run (5)", len(rows))
	}
	for _, col := range []string{"handshake_p50_ns", "transaction_p999_ns", "failures_EADDRNOTAVAIL", "failures_ECONNREFUSED", "port_capacity"} {
		if !slices.Contains(header, col) {
			t.Errorf("header lacks %s: %q", col, header)
		}
	}
	if slices.Contains(header, "scheduled_p50_ns") {
		t.Errorf("header has a phase no run has: %q", header)
	}
	i := 0
	for _, s := range srcs {
		for _, r := range s.Doc.Runs {
			row := rows[i]
			i++
			if row["file"] != s.Name || row["label"] != r.Label || row["workload"] != r.Workload {
				t.Errorf("row %d: file %q label %q workload %q, want %s %s %s", i, row["file"], row["label"], row["workload"], s.Name, r.Label, r.Workload)
			}
			if v, _ := strconv.ParseFloat(row["transactions_per_sec"], 64); v != r.Rates.TransactionsPerSec {
				t.Errorf("%s %s: transactions_per_sec %q, want %v", s.Name, r.Label, row["transactions_per_sec"], r.Rates.TransactionsPerSec)
			}
			for ph, p := range r.Phases {
				if row[ph+"_p99_ns"] != strconv.FormatInt(p.P99Ns, 10) || row[ph+"_max_ns"] != strconv.FormatInt(p.MaxNs, 10) {
					t.Errorf("%s %s %s: p99 %q max %q, want %d %d", s.Name, r.Label, ph, row[ph+"_p99_ns"], row[ph+"_max_ns"], p.P99Ns, p.MaxNs)
				}
			}
			if row["failures_EADDRNOTAVAIL"] != strconv.FormatInt(r.Failures["EADDRNOTAVAIL"], 10) {
				t.Errorf("%s %s: EADDRNOTAVAIL %q, want %d", s.Name, r.Label, row["failures_EADDRNOTAVAIL"], r.Failures["EADDRNOTAVAIL"])
			}
		}
	}
	if rows[1]["port_capacity"] != "4000" || rows[4]["port_capacity"] != "" || rows[4]["first_byte_p50_ns"] != "" {
		t.Errorf("port_capacity %q / %q, connect first_byte_p50_ns %q: want 4000, empty, empty",
			rows[1]["port_capacity"], rows[4]["port_capacity"], rows[4]["first_byte_p50_ns"])
	}
}

func TestSeriesCSV(t *testing.T) {
	srcs := fixtureSources(t)
	header, rows := readCSV(t, renderWith(t, func(b *bytes.Buffer) error { return WriteSeriesCSV(b, srcs) }))
	want := 0
	for _, r := range srcs[0].Doc.Runs {
		want += len(r.Series)
	}
	if len(rows) != want {
		t.Fatalf("%d rows, want one per interval (%d)", len(rows), want)
	}
	for _, col := range []string{"state_established", "state_time_wait", "failures_EADDRNOTAVAIL", "transaction_p99_ns", "t_s"} {
		if !slices.Contains(header, col) {
			t.Errorf("header lacks %s: %q", col, header)
		}
	}
	// States in StateOrder: established before time_wait.
	if slices.Index(header, "state_established") > slices.Index(header, "state_time_wait") {
		t.Errorf("states out of order: %q", header)
	}
	first := rows[0]
	if first["label"] != "pooled" || first["run"] != "0" || first["warmup"] != "true" || first["start_ns"] != "-500000000" {
		t.Errorf("first row (the pooled warm-up): %v", first)
	}
	last := rows[len(rows)-1]
	iv := srcs[0].Doc.Runs[1].Series[3]
	if last["run"] != "1" || last["t_s"] != "2" || last["state_time_wait"] != strconv.Itoa(iv.States["time_wait"]) ||
		last["failures_EADDRNOTAVAIL"] != "40" || last["port_capacity"] != "4000" ||
		last["transaction_p99_ns"] != strconv.FormatInt(iv.Phases["transaction"].P99Ns, 10) {
		t.Errorf("last row: %v", last)
	}
}

// hgrmBlock is one parsed block of hgrm output.
type hgrmBlock struct {
	title  string
	header string
	rows   [][4]float64 // value, percentile, total count, 1/(1-percentile) (NaN on the last row)
	footer []string
}

// parseHgrm reads WriteHgrm's output back (a test-only reader).
func parseHgrm(t *testing.T, data string) []hgrmBlock {
	t.Helper()
	var out []hgrmBlock
	for _, chunk := range strings.Split(strings.TrimSuffix(data, "\n"), "\n\n\n") {
		lines := strings.Split(chunk, "\n")
		if len(lines) < 6 || !strings.HasPrefix(lines[0], "# ") || lines[2] != "" {
			t.Fatalf("malformed block:\n%s", chunk)
		}
		b := hgrmBlock{title: lines[0], header: lines[1]}
		for _, l := range lines[3:] {
			if strings.HasPrefix(l, "#[") {
				b.footer = append(b.footer, l)
				continue
			}
			f := strings.Fields(l)
			if len(f) != 3 && len(f) != 4 {
				t.Fatalf("row %q has %d fields", l, len(f))
			}
			var row [4]float64
			row[3] = math.NaN()
			for i, s := range f {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("row %q: %v", l, err)
				}
				row[i] = v
			}
			b.rows = append(b.rows, row)
		}
		out = append(out, b)
	}
	return out
}

func TestHgrm(t *testing.T) {
	srcs := fixtureSources(t)
	_, recs, _ := reportDoc(t, 0, 1)
	var b strings.Builder
	n, err := WriteHgrm(&b, srcs, []string{"transaction", "handshake"})
	if err != nil || n != 4 {
		t.Fatalf("WriteHgrm: %d blocks, %v; want 4", n, err)
	}
	blocks := parseHgrm(t, b.String())
	if len(blocks) != 4 {
		t.Fatalf("parsed %d blocks, want 4", len(blocks))
	}
	titles := []string{"# main.json run pooled phase transaction", "# main.json run pooled phase handshake",
		"# main.json run per-request phase transaction", "# main.json run per-request phase handshake"}
	for i, blk := range blocks {
		if blk.title != titles[i] {
			t.Errorf("block %d title %q, want %q", i, blk.title, titles[i])
		}
		if want := "       Value     Percentile TotalCount 1/(1-Percentile)"; blk.header != want {
			t.Errorf("header %q, want HdrHistogram's %q", blk.header, want)
		}
		ph := strings.Fields(blk.title)[5]
		rec := recs[i/2][ph]
		h := rec.Hist()
		prevQ, prevN := -1.0, 0.0
		for j, row := range blk.rows {
			v, q, cnt, inv := row[0], row[1], row[2], row[3]
			if q < prevQ || cnt < prevN {
				t.Fatalf("block %d row %d: percentile or count decreases: %v", i, j, row)
			}
			prevQ, prevN = q, cnt
			// The row is the first bucket whose cumulative count reaches
			// the percentile (HdrHistogram's percentile iterator): its
			// count covers q, and its value, in ms, is the histogram's
			// value at that count.
			if cnt/float64(rec.Count()) < q-1e-12 {
				t.Errorf("block %d row %d: count %v of %d is below percentile %v", i, j, cnt, rec.Count(), q)
			}
			want := float64(h.ValueAtPercentile(100*cnt/float64(rec.Count()))) / 1e6
			if math.Abs(v-want) > 0.0005+1e-9 {
				t.Errorf("block %d row %d: value %v ms at count %v, histogram says %v ms", i, j, v, cnt, want)
			}
			last := j == len(blk.rows)-1
			if last != math.IsNaN(inv) {
				t.Errorf("block %d row %d: 1/(1-p) %v (only the last row has none)", i, j, inv)
			}
			if !last && math.Abs(inv-1/(1-q)) > 0.006*math.Max(1, inv/100) {
				t.Errorf("block %d row %d: 1/(1-p) %v for p %v", i, j, inv, q)
			}
		}
		lastRow := blk.rows[len(blk.rows)-1]
		if lastRow[1] != 1 || int64(lastRow[2]) != rec.Count() {
			t.Errorf("block %d: last row %v, want percentile 1 and count %d", i, lastRow, rec.Count())
		}
		wantFooter := []string{
			fmt.Sprintf("#[Mean    = %12.3f, StdDeviation   = %12.3f]", h.Mean()/1e6, h.StdDev()/1e6),
			fmt.Sprintf("#[Max     = %12.3f, Total count    = %12d]", float64(h.Max())/1e6, rec.Count()),
			"#[Buckets =           32, SubBuckets     =         2048]",
		}
		if !slices.Equal(blk.footer, wantFooter) {
			t.Errorf("block %d footer:\n%s\nwant:\n%s", i, strings.Join(blk.footer, "\n"), strings.Join(wantFooter, "\n"))
		}
	}
	// The footer's geometry is the histogram's: (buckets+1) × subBuckets/2 counts.
	buckets, sub := hgrmGeometry()
	if got := int64(len(histogram.New().Hist().Export().Counts)); got != (buckets+1)*sub/2 {
		t.Errorf("geometry %d buckets × %d sub-buckets does not match %d counts", buckets, sub, got)
	}
	// A phase no run has writes nothing.
	var none strings.Builder
	if n, err := WriteHgrm(&none, srcs, []string{"scheduled"}); n != 0 || err != nil || none.Len() != 0 {
		t.Errorf("absent phase: %d blocks, %v, %q", n, err, none.String())
	}
	// Overflowed values are mentioned in the block's title.
	d := &results.Document{Schema: results.Schema, Runs: []results.Run{{Label: "x", Phases: map[string]results.Phase{}}}}
	r := recorder(5, 10)
	r.Record(histogram.HighestNs * 2)
	d.Runs[0].Phases["transaction"] = phaseOf(t, r)
	var ov strings.Builder
	WriteHgrm(&ov, []results.Source{{Name: "o.json", Doc: d}}, []string{"transaction"})
	if !strings.HasPrefix(ov.String(), "# o.json run x phase transaction (1 values above 3600000 ms counted as 3600000 ms)\n") {
		t.Errorf("overflow not in the title: %q", strings.SplitN(ov.String(), "\n", 2)[0])
	}
}

func TestSpectrum(t *testing.T) {
	if x, y := Spectrum(recorder(5)); x != nil || y != nil {
		t.Errorf("one value: %v %v, want nothing", x, y)
	}
	small := recorder()
	for i := int64(1); i <= 500; i++ {
		small.Record(i * 1000)
	}
	x, y := Spectrum(small)
	if len(x) != len(y) || len(x) < 50 || x[0] != 2 {
		t.Fatalf("500 values: %d x, %d y, first x %v", len(x), len(y), x[0])
	}
	for i := 1; i < len(x); i++ {
		if x[i] <= x[i-1] || y[i] < y[i-1] {
			t.Fatalf("not increasing at %d: x %v→%v, y %v→%v", i, x[i-1], x[i], y[i-1], y[i])
		}
	}
	if x[len(x)-1] != 500 || y[len(y)-1] != float64(small.Hist().Max()) {
		t.Errorf("last point (%v, %v), want (500, max %d)", x[len(x)-1], y[len(y)-1], small.Hist().Max())
	}
	if y[0] != float64(small.ValueAt(50)) {
		t.Errorf("first point %v, want the median %d", y[0], small.ValueAt(50))
	}
	big := histogram.New()
	big.RecordN(1000, 200_000)
	big.Record(9_000_000)
	x, _ = Spectrum(big)
	if x[len(x)-1] != spectrumMaxX {
		t.Errorf("200,001 values: last x %v, want the axis end %v", x[len(x)-1], spectrumMaxX)
	}
}

// FuzzReport feeds decoded documents to every renderer and to Merge: none
// may panic, whatever a valid document holds.
func FuzzReport(f *testing.F) {
	srcs := fixtureSources(f)
	f.Add(encode(f, srcs[0].Doc))
	small, _ := sampleDoc(f)
	f.Add(encode(f, small))
	f.Add([]byte(`{"schema":"connbench/v1","runs":[{"label":"x","duration_ns":-5,"series":[{"start_ns":10,"end_ns":-10,"states":{"time_wait":-3},"hdr":{"transaction":"x"},"phases":{"transaction":{"count":1}}}],"kernel":{"port_range_size":-1,"sources":-4}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := results.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		srcs := []results.Source{{Name: "a.json", Doc: doc}, {Name: "b.json", Doc: doc}}
		var b bytes.Buffer
		WriteReport(&b, srcs)
		WriteCSV(&b, srcs)
		WriteSeriesCSV(&b, srcs)
		WriteHgrm(&b, srcs, results.PhaseOrder)
		WriteHTML(&b, srcs)
		if m, err := results.Merge(srcs); err == nil {
			WriteHTML(&b, []results.Source{{Name: "m.json", Doc: m}})
		}
	})
}

// A count past float64's precision is refused by hgrm (HdrHistogram's
// percentile iterator would never end) and still drawn as a spectrum.
func TestHgrmHugeCount(t *testing.T) {
	r := histogram.New()
	r.RecordN(1000, maxHgrmCount)
	r.Record(2000)
	d := &results.Document{Schema: results.Schema, Runs: []results.Run{{Label: "x", Phases: map[string]results.Phase{"transaction": phaseOf(t, r)}}}}
	var b strings.Builder
	if _, err := WriteHgrm(&b, []results.Source{{Name: "h.json", Doc: d}}, []string{"transaction"}); err == nil || !strings.Contains(err.Error(), "more than hgrm can list") {
		t.Errorf("huge count: %v", err)
	}
	if x, _ := Spectrum(r); len(x) == 0 || x[len(x)-1] != spectrumMaxX {
		t.Errorf("huge count: spectrum %v", x)
	}
}

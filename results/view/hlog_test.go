package view

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// TestHlogReadBack: the log written is read back by hdrhistogram-go's log
// reader, and each tag's interval histograms add up to the run's totals.
func TestHlogReadBack(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	total := histogram.New()
	run := results.Run{Label: "per-request, close=rst", StartedAt: start, Phases: map[string]results.Phase{}}
	for i := 0; i < 3; i++ {
		iv := histogram.New()
		for v := int64(1); v <= int64(1000*(i+1)); v++ {
			iv.Record(v * 1000)
			total.Record(v * 1000)
		}
		enc, err := iv.Encode()
		if err != nil {
			t.Fatal(err)
		}
		run.Series = append(run.Series, results.Interval{StartNs: int64(i) * 1e9, EndNs: int64(i+1) * 1e9,
			Hdr: map[string]string{"handshake": enc}})
	}
	// An empty interval is left out.
	run.Series = append(run.Series, results.Interval{StartNs: 3e9, EndNs: 4e9})
	p, _ := results.NewPhase(total)
	run.Phases["handshake"] = p
	doc := &results.Document{Schema: results.Schema, StartedAt: start, Tool: results.Tool{Version: "test"}, Runs: []results.Run{run}}
	var buf bytes.Buffer
	if err := WriteHlog(&buf, doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Tag=per-request_close=rst.handshake,") {
		t.Fatalf("no tag in:\n%s", buf.String())
	}
	r := hdrhistogram.NewHistogramLogReader(&buf)
	sum := histogram.New().Hist()
	n := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err == io.EOF || (err == nil && h == nil) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Tag() != "per-request_close=rst.handshake" {
			t.Errorf("tag %q", h.Tag())
		}
		sum.Merge(h)
		n++
	}
	if n != 3 {
		t.Errorf("%d interval histograms read back, want 3", n)
	}
	if !sum.Equals(total.Hist()) {
		t.Errorf("read-back sum %d values, p99 %d; run total %d, p99 %d", sum.TotalCount(), sum.ValueAtQuantile(99), total.Count(), total.ValueAt(99))
	}
}

package view

import (
	"fmt"
	"io"
	"regexp"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.:=+-]+`)

// HlogTag is the log tag of a run's phase: "LABEL.PHASE" with characters a
// tag may not hold (commas, spaces) replaced by '_'.
func HlogTag(label, phase string) string {
	return tagUnsafe.ReplaceAllString(label, "_") + "." + phase
}

// WriteHlog writes the document's interval histograms in the HdrHistogram
// log format (version 1.3), one tag per run and phase, so that
// HdrHistogram's own log tools (HistogramLogProcessor, the plotter) read
// them. Values are nanoseconds; the log's max column is in milliseconds as
// the format expects. Intervals without values are left out.
func WriteHlog(w io.Writer, doc *results.Document) error {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	base := doc.StartedAt.UnixMilli()
	if len(doc.Runs) > 0 {
		base = doc.Runs[0].StartedAt.UnixMilli()
		for _, r := range doc.Runs {
			base = min(base, r.StartedAt.UnixMilli()+seriesStartMs(r))
		}
	}
	lw.SetBaseTime(base)
	if err := lw.OutputComment(fmt.Sprintf("[Logged with connbench %s, values in nanoseconds]", doc.Tool.Version)); err != nil {
		return fmt.Errorf("results: hlog: %w", err)
	}
	lw.OutputStartTime(base)
	lw.OutputBaseTime(base)
	lw.OutputLegend()
	for _, r := range doc.Runs {
		start := r.StartedAt.UnixMilli()
		for _, iv := range r.Series {
			phases := make([]string, 0, len(iv.Hdr))
			for ph := range iv.Hdr {
				phases = append(phases, ph)
			}
			sort.Strings(phases)
			for _, ph := range phases {
				rec, err := histogram.Decode(iv.Hdr[ph], 0)
				if err != nil {
					return fmt.Errorf("results: hlog: run %s interval at %d ns, phase %s: %w", r.Label, iv.StartNs, ph, err)
				}
				h := rec.Hist()
				if h.TotalCount() == 0 {
					continue
				}
				h.SetTag(HlogTag(r.Label, ph))
				h.SetStartTimeMs(start + iv.StartNs/1e6)
				h.SetEndTimeMs(start + iv.EndNs/1e6)
				if err := lw.OutputIntervalHistogram(h); err != nil {
					return fmt.Errorf("results: hlog: %w", err)
				}
			}
		}
	}
	return nil
}

func seriesStartMs(r results.Run) int64 {
	if len(r.Series) == 0 {
		return 0
	}
	return r.Series[0].StartNs / 1e6
}

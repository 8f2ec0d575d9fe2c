package view

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/connbench/connbench/histogram"
	"github.com/connbench/connbench/results"
)

// HgrmTicksPerHalfDistance is the number of percentile rows per halving of
// the distance to 100% in the hgrm output: HdrHistogram's default (5).
const HgrmTicksPerHalfDistance = 5

// maxHgrmCount is the largest histogram count WriteHgrm lists (2^50).
const maxHgrmCount = 1 << 50

// hgrmScale turns nanoseconds into milliseconds, the unit HdrHistogram's
// plotter expects (Java's outputValueUnitScalingRatio of 1e6).
const hgrmScale = 1e6

// WriteHgrm writes each run's histogram for each of phases in HdrHistogram's
// percentile distribution format ("hgrm", Java's
// Histogram.outputPercentileDistribution with 5 ticks per half distance and
// values scaled to milliseconds): the header line "Value Percentile
// TotalCount 1/(1-Percentile)" (right-aligned in 12, 14, 10 and 14
// columns) and a blank line,
// then one row per percentile step, the last (100%) row without its
// infinite 1/(1-Percentile), and the #[Mean ...], #[Max ...] and
// #[Buckets ...] footer. Each block starts with a comment line naming the
// file, run and phase ("# main.json run per-request phase transaction",
// plus the overflow count when values exceeded the histogram's range), and
// blocks are separated by two blank lines, so gnuplot reads block i as
// "index i". A run without the phase, or with no values in it, has no
// block. It returns the number of blocks written and the error of w.
func WriteHgrm(w io.Writer, srcs []results.Source, phases []string) (int, error) {
	var b strings.Builder
	n := 0
	for _, s := range srcs {
		for _, r := range s.Doc.Runs {
			for _, ph := range phases {
				p, ok := r.Phases[ph]
				if !ok || p.Count == 0 {
					continue
				}
				rec, err := p.Recorder()
				if err != nil {
					return n, fmt.Errorf("results: %s run %s phase %s: %w", s.Name, r.Label, ph, err)
				}
				if rec.Count() > maxHgrmCount {
					// HdrHistogram's percentile iterator cannot tell
					// percentiles apart past float64 precision and would
					// not end.
					return n, fmt.Errorf("results: %s run %s phase %s: %d values is more than hgrm can list", s.Name, r.Label, ph, rec.Count())
				}
				if n > 0 {
					b.WriteString("\n\n")
				}
				// A name or label from a file stays on its comment line.
				fmt.Fprintf(&b, "# %s run %s phase %s", results.Printable(s.Name), results.Printable(r.Label), ph)
				if r.Repetition > 0 {
					fmt.Fprintf(&b, " repetition %d", r.Repetition)
				}
				if p.Overflow > 0 {
					fmt.Fprintf(&b, " (%d values above %d ms counted as %d ms)", p.Overflow,
						histogram.HighestNs/hgrmScale, histogram.HighestNs/hgrmScale)
				}
				b.WriteByte('\n')
				writeHgrmBlock(&b, rec)
				n++
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return n, err
}

// writeHgrmBlock writes one histogram's percentile distribution, formatted
// as HdrHistogram's Java implementation does with 3 significant digits.
func writeHgrmBlock(b *strings.Builder, rec *histogram.Recorder) {
	h := rec.Hist()
	fmt.Fprintf(b, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	for _, br := range h.CumulativeDistributionWithTicks(HgrmTicksPerHalfDistance) {
		q := br.Quantile / 100
		v := float64(br.ValueAt) / hgrmScale
		if br.Quantile >= 100 {
			fmt.Fprintf(b, "%12.3f %2.12f %10d\n", v, q, br.Count)
			continue
		}
		fmt.Fprintf(b, "%12.3f %2.12f %10d %14.2f\n", v, q, br.Count, 1/(1-q))
	}
	mean, sd := 0.0, 0.0
	if h.TotalCount() > 0 {
		mean, sd = h.Mean()/hgrmScale, h.StdDev()/hgrmScale
	}
	buckets, subBuckets := hgrmGeometry()
	fmt.Fprintf(b, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean, sd)
	fmt.Fprintf(b, "#[Max     = %12.3f, Total count    = %12d]\n", float64(h.Max())/hgrmScale, h.TotalCount())
	fmt.Fprintf(b, "#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, subBuckets)
}

// hgrmGeometry returns the bucket and sub-bucket counts of every Recorder's
// histogram (HdrHistogram's construction for LowestNs, HighestNs, SigFigs),
// which the hgrm footer reports: 32 and 2048.
func hgrmGeometry() (buckets, subBuckets int64) {
	largest := 2 * math.Pow10(histogram.SigFigs)
	subBuckets = int64(1) << int(math.Ceil(math.Log2(largest)))
	unitMagnitude := int(math.Floor(math.Log2(float64(histogram.LowestNs))))
	smallestUntrackable := subBuckets << unitMagnitude
	buckets = 1
	for smallestUntrackable <= histogram.HighestNs {
		if smallestUntrackable > math.MaxInt64/2 {
			buckets++
			break
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}

// Package histogram records latency distributions for connbench.
//
// Each event loop owns its own Recorders, one per measured quantity (for
// example connect time or time to first byte), and records nanosecond
// latencies into them without locks. After the run the per-loop Recorders are
// merged exactly with Merge and reported with Summary, or serialized with
// Encode in the HdrHistogram V2 compressed base64 format ("HISTFAAA...") that
// HdrHistogram tools in other languages read. Interval supports per-interval
// time series by handing out the recorder of each finished interval.
//
// A Recorder wraps an HdrHistogram covering LowestNs..HighestNs with SigFigs
// significant decimal digits: every reported value is within 0.1% of a
// recorded value. Values above HighestNs are clamped to HighestNs and counted
// in Overflow, so they are never silently dropped.
//
// Nothing in this package is safe for concurrent use. The package never
// prints, exits or reads flags.
package histogram

import (
	"errors"
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Geometry of every Recorder. All Recorders share it, which is what makes
// Merge exact.
const (
	// LowestNs is the lowest discernible value, in nanoseconds. A recorded 0
	// is still counted (in the lowest bucket).
	LowestNs int64 = 1
	// HighestNs is the highest trackable value, in nanoseconds (1 hour).
	// Larger values are recorded as HighestNs and counted in Overflow.
	HighestNs int64 = 3_600_000_000_000
	// SigFigs is the number of significant decimal digits kept for every
	// value: values are reported within 0.1% of what was recorded.
	SigFigs = 3
)

// Recorder is a latency histogram in nanoseconds plus a count of values that
// exceeded HighestNs. It is not safe for concurrent use: each event loop owns
// its Recorders, and Recorders are merged after the run.
//
// A Recorder holds a counts array of about 264 KiB (33,792 int64 buckets for
// 1 ns..1 h at 3 significant digits; Hist().ByteSize() reports 270,404
// bytes), allocated once by New. Reset zeroes it in place. Use New to create
// a Recorder; the zero value is not usable.
type Recorder struct {
	h        *hdrhistogram.Histogram
	overflow int64
}

// New returns an empty Recorder covering LowestNs..HighestNs with SigFigs
// significant digits. It allocates the whole counts array (see Recorder).
func New() *Recorder {
	return &Recorder{h: hdrhistogram.New(LowestNs, HighestNs, SigFigs)}
}

// clamp maps a latency in nanoseconds into the recordable range and reports
// whether it exceeded HighestNs.
func clamp(ns int64) (int64, bool) {
	if ns < 0 {
		return 0, false
	}
	if ns > HighestNs {
		return HighestNs, true
	}
	return ns, false
}

// Record records one latency of ns nanoseconds. A negative ns is recorded as
// 0; an ns above HighestNs is recorded as HighestNs and counted in Overflow.
// It does not allocate.
func (r *Recorder) Record(ns int64) {
	ns, over := clamp(ns)
	if over {
		r.overflow++
	}
	// Cannot fail: ns is in range and a total past MaxInt64 is unreachable.
	_ = r.h.RecordValue(ns)
}

// RecordN records n latencies of ns nanoseconds each, clamping ns as Record
// does (each of the n values above HighestNs counts in Overflow). An n <= 0
// records nothing. It does not allocate.
func (r *Recorder) RecordN(ns, n int64) {
	if n <= 0 {
		return
	}
	ns, over := clamp(ns)
	if err := r.h.RecordValues(ns, n); err != nil {
		// Only a total count past MaxInt64 gets here; nothing was recorded.
		return
	}
	if over {
		r.overflow += n
	}
}

// Count returns the number of values recorded, including overflowed ones; 0
// for an empty Recorder.
func (r *Recorder) Count() int64 { return r.h.TotalCount() }

// Overflow returns how many recorded values exceeded HighestNs (they are
// included in Count as HighestNs); 0 for an empty Recorder.
func (r *Recorder) Overflow() int64 { return r.overflow }

// Merge adds every value recorded in o, and o's overflow count, to r. The
// merge is exact because all Recorders share one geometry. A nil o is a
// no-op; r.Merge(r) doubles r. o is not modified.
func (r *Recorder) Merge(o *Recorder) {
	if o == nil {
		return
	}
	if o == r {
		// The library's merge happens to handle aliasing today (each bucket
		// is read before it is added to); do not depend on that.
		o = o.Clone()
	}
	// The library returns how many values it dropped: values outside r's
	// range (impossible, the geometry is shared) or a total past MaxInt64.
	r.h.Merge(o.h)
	r.overflow += o.overflow
}

// Reset empties r (counts, overflow, and the underlying histogram's tag and
// start/end times) without allocating, so it can be reused.
func (r *Recorder) Reset() {
	r.h.Reset()
	r.overflow = 0
}

// Clone returns an independent deep copy of r.
func (r *Recorder) Clone() *Recorder {
	return &Recorder{h: r.h.Clone(), overflow: r.overflow}
}

// Hist returns the underlying histogram (values in nanoseconds), for log
// writers. It is shared, not copied: recording into it bypasses the overflow
// clamp of Record.
func (r *Recorder) Hist() *hdrhistogram.Histogram { return r.h }

// ValueAt returns the value in nanoseconds at percentile (0..100; values
// outside are clamped): the highest value equivalent, within SigFigs digits,
// to the value below which percentile percent of the recorded values lie.
// ValueAt(0) is the lowest equivalent value of the minimum. It returns 0 for
// an empty Recorder.
func (r *Recorder) ValueAt(percentile float64) int64 {
	return r.h.ValueAtPercentile(percentile)
}

// Encode returns r's histogram in the HdrHistogram V2 compressed format,
// base64 encoded ("HISTFAAA..."), as HdrHistogram log tools read it. The
// overflow count is not part of the format: pass it to Decode separately.
// Errors come from the encoder and are wrapped with the prefix
// "histogram: encode: ".
func (r *Recorder) Encode() (string, error) {
	b, err := r.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("histogram: encode: %w", err)
	}
	return string(b), nil
}

// Decode returns the Recorder that Encode encoded as s, with overflow as its
// Overflow count. It returns an error, prefixed "histogram: decode: ", if s is
// not a valid V2 compressed histogram, if its geometry differs from
// LowestNs/HighestNs/SigFigs (it could not be merged exactly), or if overflow
// is negative or larger than the decoded count. It never panics on malformed
// input. A crafted header can still make the library allocate a counts array
// for its declared geometry (up to about 50 MB) before the geometry check.
func Decode(s string, overflow int64) (rec *Recorder, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec = nil
			err = fmt.Errorf("histogram: decode: %w", fmt.Errorf("malformed input: %v", p))
		}
	}()
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("histogram: decode: %w", err)
	}
	if h.LowestTrackableValue() != LowestNs || h.HighestTrackableValue() != HighestNs ||
		h.SignificantFigures() != SigFigs {
		return nil, fmt.Errorf("histogram: decode: %w: got %d..%d ns at %d digits, want %d..%d ns at %d digits",
			ErrGeometry, h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(),
			LowestNs, HighestNs, SigFigs)
	}
	if overflow < 0 || overflow > h.TotalCount() {
		return nil, fmt.Errorf("histogram: decode: %w: overflow %d, count %d",
			ErrOverflow, overflow, h.TotalCount())
	}
	return &Recorder{h: h, overflow: overflow}, nil
}

// Errors wrapped by Decode, for errors.Is.
var (
	// ErrGeometry reports an encoded histogram whose range or precision
	// differs from LowestNs, HighestNs and SigFigs.
	ErrGeometry = errors.New("histogram geometry mismatch")
	// ErrOverflow reports an overflow count that is negative or exceeds the
	// decoded histogram's count.
	ErrOverflow = errors.New("invalid overflow count")
)

// Summary is a digest of a Recorder. All values are in nanoseconds; each is
// within SigFigs significant digits of a recorded value (percentiles and
// MaxNs are the highest value of their bucket, MinNs the lowest). MeanNs and
// StddevNs are computed from bucket midpoints. The zero Summary describes an
// empty Recorder.
type Summary struct {
	Count    int64   `json:"count"`     // values recorded, overflowed ones included
	MinNs    int64   `json:"min_ns"`    // smallest value
	MeanNs   float64 `json:"mean_ns"`   // arithmetic mean
	StddevNs float64 `json:"stddev_ns"` // population standard deviation
	P50Ns    int64   `json:"p50_ns"`    // median
	P90Ns    int64   `json:"p90_ns"`    // 90th percentile
	P99Ns    int64   `json:"p99_ns"`    // 99th percentile
	P999Ns   int64   `json:"p999_ns"`   // 99.9th percentile
	MaxNs    int64   `json:"max_ns"`    // largest value (at most HighestNs rounded up to its bucket)
	Overflow int64   `json:"overflow"`  // values that exceeded HighestNs, recorded as HighestNs
}

// Summary returns the digest of r; the zero Summary if r is empty. It scans
// the counts array several times, so call it after the run, not per event.
func (r *Recorder) Summary() Summary {
	h := r.h
	if h.TotalCount() == 0 {
		return Summary{}
	}
	return Summary{
		Count:    h.TotalCount(),
		MinNs:    h.Min(),
		MeanNs:   h.Mean(),
		StddevNs: h.StdDev(),
		P50Ns:    h.ValueAtPercentile(50),
		P90Ns:    h.ValueAtPercentile(90),
		P99Ns:    h.ValueAtPercentile(99),
		P999Ns:   h.ValueAtPercentile(99.9),
		MaxNs:    h.Max(),
		Overflow: r.overflow,
	}
}

// Interval accumulates a Recorder for the current interval and hands it out,
// swapping in a reset one: it keeps two Recorders and alternates them, so it
// does not allocate in steady state. It is not safe for concurrent use. Use
// NewInterval to create one; the zero value is not usable.
type Interval struct {
	cur, prev *Recorder
}

// NewInterval returns an Interval whose first interval is empty. It allocates
// two Recorders.
func NewInterval() *Interval {
	return &Interval{cur: New(), prev: New()}
}

// Record records one latency of ns nanoseconds into the current interval,
// clamping it as Recorder.Record does. It does not allocate.
func (iv *Interval) Record(ns int64) { iv.cur.Record(ns) }

// Take ends the current interval and returns its Recorder, which stays valid
// until the next call to Take (then it is reset and reused); Clone or Merge
// it to keep it longer. Recording continues into a fresh, empty Recorder.
// It does not allocate.
func (iv *Interval) Take() *Recorder {
	iv.prev.Reset()
	iv.cur, iv.prev = iv.prev, iv.cur
	return iv.prev
}

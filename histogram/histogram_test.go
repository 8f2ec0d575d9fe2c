package histogram

import (
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// within reports whether got is within HdrHistogram's 3-significant-digit
// precision (0.1%, plus one unit for tiny values) of want.
func within(got, want int64) bool {
	d := math.Abs(float64(got - want))
	return d <= float64(want)/1000+1
}

const us = int64(1000)

// known returns a Recorder holding 1..10000 µs, one value each.
func known() *Recorder {
	r := New()
	for i := int64(1); i <= 10000; i++ {
		r.Record(i * us)
	}
	return r
}

func TestRecordSummaryKnownData(t *testing.T) {
	r := known()
	s := r.Summary()
	if s.Count != 10000 || r.Count() != 10000 {
		t.Fatalf("count = %d / %d, want 10000", s.Count, r.Count())
	}
	if s.Overflow != 0 {
		t.Errorf("overflow = %d, want 0", s.Overflow)
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"min", s.MinNs, 1 * us},
		{"p50", s.P50Ns, 5000 * us},
		{"p90", s.P90Ns, 9000 * us},
		{"p99", s.P99Ns, 9900 * us},
		{"p99.9", s.P999Ns, 9990 * us},
		{"max", s.MaxNs, 10000 * us},
		{"ValueAt(50)", r.ValueAt(50), 5000 * us},
		{"ValueAt(100)", r.ValueAt(100), 10000 * us},
		{"ValueAt(0)", r.ValueAt(0), 1 * us},
	}
	for _, c := range checks {
		if !within(c.got, c.want) {
			t.Errorf("%s = %d ns, want %d ns ±0.1%%", c.name, c.got, c.want)
		}
	}
	wantMean := 5000.5 * float64(us)
	if math.Abs(s.MeanNs-wantMean) > wantMean/1000 {
		t.Errorf("mean = %g ns, want %g ns ±0.1%%", s.MeanNs, wantMean)
	}
	// Population stddev of 1..N is sqrt((N²-1)/12).
	wantSD := math.Sqrt((10000.0*10000.0-1)/12) * float64(us)
	if math.Abs(s.StddevNs-wantSD) > wantSD/1000 {
		t.Errorf("stddev = %g ns, want %g ns ±0.1%%", s.StddevNs, wantSD)
	}
}

func TestEmpty(t *testing.T) {
	r := New()
	if s := r.Summary(); s != (Summary{}) {
		t.Errorf("empty Summary = %+v, want zero", s)
	}
	if v := r.ValueAt(99); v != 0 {
		t.Errorf("empty ValueAt(99) = %d, want 0", v)
	}
}

func TestClamping(t *testing.T) {
	r := New()
	r.Record(-5)
	r.Record(0)
	if r.Count() != 2 || r.Overflow() != 0 {
		t.Fatalf("count=%d overflow=%d, want 2, 0", r.Count(), r.Overflow())
	}
	if s := r.Summary(); s.MinNs != 0 || s.MaxNs != 0 {
		t.Errorf("min=%d max=%d, want 0, 0", s.MinNs, s.MaxNs)
	}
	r.Record(HighestNs) // exactly the limit is not an overflow
	if r.Overflow() != 0 {
		t.Errorf("HighestNs counted as overflow")
	}
	r.RecordN(HighestNs+1, 3)
	r.RecordN(5, 0)
	r.RecordN(5, -1)
	if r.Count() != 6 || r.Overflow() != 3 {
		t.Errorf("count=%d overflow=%d, want 6, 3", r.Count(), r.Overflow())
	}
}

func TestOverflow(t *testing.T) {
	r := New()
	r.Record(7_200_000_000_000) // 2 h
	if r.Overflow() != 1 || r.Count() != 1 {
		t.Fatalf("overflow=%d count=%d, want 1, 1", r.Overflow(), r.Count())
	}
	s := r.Summary()
	if s.Overflow != 1 {
		t.Errorf("Summary.Overflow = %d, want 1", s.Overflow)
	}
	if !r.Hist().ValuesAreEquivalent(s.MaxNs, HighestNs) || !within(s.MaxNs, HighestNs) {
		t.Errorf("max = %d, want equivalent to HighestNs %d", s.MaxNs, HighestNs)
	}
	if s.MaxNs >= 7_000_000_000_000 {
		t.Errorf("max = %d, not clamped", s.MaxNs)
	}
	r.Record(math.MaxInt64)
	if r.Overflow() != 2 {
		t.Errorf("MaxInt64: overflow = %d, want 2", r.Overflow())
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	r := known()
	r.RecordN(9*HighestNs, 4)
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "HISTFAAA") {
		t.Errorf("encoding %q does not start with HISTFAAA", enc[:min(len(enc), 16)])
	}
	d, err := Decode(enc, r.Overflow())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Hist().Equals(r.Hist()) {
		t.Error("decoded histogram differs from original")
	}
	if d.Summary() != r.Summary() {
		t.Errorf("summary: got %+v, want %+v", d.Summary(), r.Summary())
	}
	if d.Overflow() != 4 {
		t.Errorf("overflow = %d, want 4", d.Overflow())
	}
	// The decoded Recorder is fully usable and merges exactly.
	d.Merge(r)
	if d.Count() != 2*r.Count() || d.Overflow() != 8 {
		t.Errorf("after merge count=%d overflow=%d", d.Count(), d.Overflow())
	}

	// Empty round trip.
	enc, err = New().Encode()
	if err != nil {
		t.Fatal(err)
	}
	e, err := Decode(enc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Count() != 0 || !e.Hist().Equals(New().Hist()) {
		t.Error("empty round trip not empty")
	}
}

func TestDecodeOverflowParam(t *testing.T) {
	r := New()
	r.Record(1)
	enc, _ := r.Encode()
	for _, o := range []int64{-1, 2} {
		if _, err := Decode(enc, o); !errors.Is(err, ErrOverflow) {
			t.Errorf("Decode(overflow=%d) err = %v, want ErrOverflow", o, err)
		}
	}
}

func TestDecodeForeignGeometry(t *testing.T) {
	// Valid V2 histograms with another range or precision must be rejected:
	// merging them would not be exact.
	for _, g := range []struct {
		lo, hi int64
		sig    int
	}{
		{1, 1_000_000, SigFigs},
		{1000, HighestNs, SigFigs},
		{LowestNs, HighestNs, 2},
	} {
		other := hdrhistogram.New(g.lo, g.hi, g.sig)
		if err := other.RecordValue(5000); err != nil {
			t.Fatal(err)
		}
		b, err := other.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(string(b), 0)
		if !errors.Is(err, ErrGeometry) {
			t.Errorf("%+v: err = %v, want ErrGeometry", g, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "histogram: decode: ") {
			t.Errorf("error %q lacks prefix", err)
		}
	}
}

func TestDecodeGarbage(t *testing.T) {
	r := known()
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0xff
	inputs := map[string]string{
		"empty":          "",
		"not base64":     "!!!not base64!!!",
		"short":          "HIST",
		"header only":    enc[:12],
		"truncated":      enc[:len(enc)/2],
		"truncated -1":   enc[:len(enc)-4],
		"bad cookie":     base64.StdEncoding.EncodeToString([]byte("\x00\x00\x00\x00\x00\x00\x00\x00")),
		"negative len":   base64.StdEncoding.EncodeToString(append(append([]byte(nil), raw[:4]...), 0xff, 0xff, 0xff, 0xff)),
		"flipped byte":   base64.StdEncoding.EncodeToString(flipped),
		"text":           "hello world",
		"zero bytes b64": base64.StdEncoding.EncodeToString(make([]byte, 64)),
	}
	for name, in := range inputs {
		rec, err := Decode(in, 0)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if rec != nil {
			t.Errorf("%s: non-nil Recorder with error", name)
		}
		if !strings.HasPrefix(err.Error(), "histogram: decode: ") {
			t.Errorf("%s: error %q lacks prefix", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	r := known()
	r.Record(2 * HighestNs)
	enc, err := r.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc, int64(1))
	empty, _ := New().Encode()
	f.Add(empty, int64(0))
	f.Add("", int64(0))
	f.Add("HISTFAAA", int64(-1))
	f.Fuzz(func(t *testing.T, s string, overflow int64) {
		d, err := Decode(s, overflow)
		if err != nil {
			if d != nil {
				t.Fatal("non-nil Recorder with error")
			}
			if !strings.HasPrefix(err.Error(), "histogram: decode: ") {
				t.Fatalf("error %q lacks prefix", err)
			}
			return
		}
		// Anything accepted must be a usable Recorder that re-encodes to an
		// equal histogram.
		if d.Overflow() != overflow || overflow > d.Count() {
			t.Fatalf("overflow %d, count %d, param %d", d.Overflow(), d.Count(), overflow)
		}
		_ = d.Summary()
		d.Record(1)
		again, err := d.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Decode(again, d.Overflow())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !d2.Hist().Equals(d.Hist()) {
			t.Fatal("re-encoded histogram differs")
		}
	})
}

func TestMergeEqualsSingle(t *testing.T) {
	a, b, all := New(), New(), New()
	for i := int64(0); i < 20000; i++ {
		v := (i*7919)%5_000_000 + i*i // spread over several magnitudes
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		all.Record(v)
	}
	a.Record(3 * HighestNs)
	all.Record(3 * HighestNs)
	b.RecordN(42, 5)
	all.RecordN(42, 5)

	bBefore := b.Clone()
	a.Merge(b)
	if !a.Hist().Equals(all.Hist()) {
		t.Error("merged histogram differs from single recorder")
	}
	if a.Overflow() != all.Overflow() || a.Overflow() != 1 {
		t.Errorf("overflow = %d, want %d", a.Overflow(), all.Overflow())
	}
	if a.Summary() != all.Summary() {
		t.Errorf("summary: %+v vs %+v", a.Summary(), all.Summary())
	}
	if !b.Hist().Equals(bBefore.Hist()) || b.Overflow() != bBefore.Overflow() {
		t.Error("Merge modified its argument")
	}

	a.Merge(nil)
	if !a.Hist().Equals(all.Hist()) {
		t.Error("Merge(nil) changed the recorder")
	}

	// Self-merge doubles.
	double := all.Clone()
	double.Merge(all)
	all.Merge(all)
	if !all.Hist().Equals(double.Hist()) || all.Overflow() != 2 {
		t.Error("self-merge is not a doubling")
	}
}

func TestResetClone(t *testing.T) {
	r := known()
	r.Record(2 * HighestNs)
	c := r.Clone()
	r.Reset()
	if r.Count() != 0 || r.Overflow() != 0 || r.Summary() != (Summary{}) {
		t.Errorf("after Reset: count=%d overflow=%d", r.Count(), r.Overflow())
	}
	if c.Count() != 10001 || c.Overflow() != 1 {
		t.Errorf("clone affected by Reset: count=%d overflow=%d", c.Count(), c.Overflow())
	}
	c.Record(5)
	if r.Count() != 0 {
		t.Error("clone shares storage with original")
	}
}

func TestInterval(t *testing.T) {
	iv := NewInterval()
	for i := int64(1); i <= 100; i++ {
		iv.Record(i * us)
	}
	first := iv.Take()
	if first.Count() != 100 || !within(first.Summary().MaxNs, 100*us) {
		t.Fatalf("first interval: count=%d max=%d", first.Count(), first.Summary().MaxNs)
	}
	iv.Record(5000 * us)
	iv.Record(2 * HighestNs)
	second := iv.Take()
	if second.Count() != 2 || second.Overflow() != 1 || !within(second.Summary().MinNs, 5000*us) {
		t.Fatalf("second interval has other intervals' values: %+v", second.Summary())
	}
	if third := iv.Take(); third.Count() != 0 || third.Overflow() != 0 {
		t.Fatalf("empty interval not empty: %+v", third.Summary())
	}
}

func TestNoAllocs(t *testing.T) {
	r := New()
	iv := NewInterval()
	v := int64(1)
	if n := testing.AllocsPerRun(1000, func() {
		v = v*31 + 7
		r.Record(v % (2 * HighestNs))
		r.RecordN(v%1_000_000, 3)
	}); n != 0 {
		t.Errorf("Recorder.Record/RecordN allocate %v times per run", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		v = v*31 + 7
		iv.Record(v % (2 * HighestNs))
	}); n != 0 {
		t.Errorf("Interval.Record allocates %v times per run", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		iv.Record(123)
		_ = iv.Take()
	}); n != 0 {
		t.Errorf("Interval.Take allocates %v times per run", n)
	}
	if n := testing.AllocsPerRun(100, func() { r.Reset() }); n != 0 {
		t.Errorf("Reset allocates %v times per run", n)
	}
}

func TestByteSize(t *testing.T) {
	// Documented in the Recorder comment; update both if the geometry changes.
	if got := New().Hist().ByteSize(); got != 270404 {
		t.Errorf("ByteSize = %d, want 270404", got)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := New()
	b.ReportAllocs()
	v := int64(1)
	for b.Loop() {
		v = v*6364136223846793005 + 1442695040888963407
		r.Record(v >> 33) // 0..~1 s, spreads over buckets
	}
}

// Package segment splits one run over several generators exactly: the
// arithmetic of --segment (one machine's share of a farm's run) and of
// --procs (one process's share), so there is one way to split a run.
//
// A run is cut into Of parts numbered 0 to Of-1. A Segment holds the parts
// From to To-1. Every countable item of the run (a transaction of -n, a
// connection slot of -c, a source address, an open-loop arrival) has an
// index k from 0; it belongs to part k mod Of. A segment's share of a total
// is then the count of indexes below it whose part it holds, so the shares
// of segments that cover the parts exactly once sum to the total, and the
// open-loop arrivals of the segments interleave: together they are the one
// generator's schedule, not Of copies of a smaller one at the same instants.
package segment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxOf bounds the number of parts a run may be split into.
const MaxOf = 100_000

// Segment is the parts From to To-1 of a run cut into Of parts. The zero
// value is the whole run (as is 0/1).
type Segment struct {
	From, To, Of int
}

// Whole is the segment of the whole run.
var Whole = Segment{0, 1, 1}

// Part is part i of n, the segment "i/n".
func Part(i, n int) Segment { return Segment{i, i + 1, n} }

// IsZero reports whether s is the zero value (no segment given).
func (s Segment) IsZero() bool { return s == Segment{} }

// norm is s with the zero value read as the whole run.
func (s Segment) norm() Segment {
	if s.IsZero() {
		return Whole
	}
	return s
}

// IsWhole reports whether s holds every part (the zero value does).
func (s Segment) IsWhole() bool { n := s.norm(); return n.From == 0 && n.To == n.Of }

// Width is the number of parts s holds.
func (s Segment) Width() int { n := s.norm(); return n.To - n.From }

// Fraction is the share of the run s holds, Width/Of.
func (s Segment) Fraction() float64 { n := s.norm(); return float64(n.To-n.From) / float64(n.Of) }

// Valid reports whether 0 <= From < To <= Of <= MaxOf (or s is zero).
func (s Segment) Valid() bool {
	return s.IsZero() || (0 <= s.From && s.From < s.To && s.To <= s.Of && s.Of <= MaxOf)
}

// String is "I/N" for one part, "A/N:B/N" for the parts A to B-1, "" for
// the zero value.
func (s Segment) String() string {
	if s.IsZero() {
		return ""
	}
	if s.To == s.From+1 {
		return fmt.Sprintf("%d/%d", s.From, s.Of)
	}
	return fmt.Sprintf("%d/%d:%d/%d", s.From, s.Of, s.To, s.Of)
}

// Label is String with the zero value written as the whole run, "0/1":
// a segment as a metric label or a file name part.
func (s Segment) Label() string { return s.norm().String() }

// ErrSyntax is wrapped by Parse's errors.
var ErrSyntax = errors.New("want I/N (0 <= I < N), or A/N:B/N (0 <= A < B <= N) for the parts A to B-1")

// Parse reads "I/N" (part I of N, from 0: the Kubernetes completion index)
// or "A/N:B/N" (the parts from A to B-1, k6's execution-segment spelling
// of the run from fraction A/N to fraction B/N), with N <= MaxOf.
func Parse(text string) (Segment, error) {
	frac := func(t string) (int, int, error) {
		a, b, ok := strings.Cut(t, "/")
		x, e1 := strconv.Atoi(a)
		y, e2 := strconv.Atoi(b)
		if !ok || e1 != nil || e2 != nil || y < 1 || y > MaxOf || x < 0 || x > y {
			return 0, 0, fmt.Errorf("segment %q: %w, N from 1 to %d", text, ErrSyntax, MaxOf)
		}
		return x, y, nil
	}
	lo, hi, isRange := strings.Cut(text, ":")
	a, n, err := frac(lo)
	if err != nil {
		return Segment{}, err
	}
	s := Segment{a, a + 1, n}
	if isRange {
		b, m, err := frac(hi)
		if err != nil {
			return Segment{}, err
		}
		if m != n {
			return Segment{}, fmt.Errorf("segment %q: both ends need the same N", text)
		}
		s.To = b
	}
	if !s.Valid() {
		return Segment{}, fmt.Errorf("segment %q: %w", text, ErrSyntax)
	}
	return s, nil
}

// Set implements pflag.Value.
func (s *Segment) Set(text string) error {
	v, err := Parse(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Type implements pflag.Value.
func (s *Segment) Type() string { return "I/N" }

// MarshalText writes String.
func (s Segment) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what Parse reads ("" is the zero value).
func (s *Segment) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Segment{}
		return nil
	}
	return s.Set(string(b))
}

// Share is how many of the items 0 to total-1 fall in s: the ones whose
// index mod Of is in [From, To). The shares of segments that cover every
// part once sum to total; they differ by at most Width between segments of
// one width. total < 0 counts as 0.
func (s Segment) Share(total int64) int64 {
	if total <= 0 {
		return 0
	}
	n := s.norm()
	of := int64(n.Of)
	full, rest := total/of, total%of
	c := full * int64(n.To-n.From)
	// Of the last, incomplete round (parts 0 to rest-1), those in s.
	if hi := min(rest, int64(n.To)); hi > int64(n.From) {
		c += hi - int64(n.From)
	}
	return c
}

// Index is the whole run's index of s's own item j (from 0): s's items are
// the run's with part in [From, To), in order. It is float64 so that an
// open-loop schedule's index never overflows.
func (s Segment) Index(j int64) float64 {
	n := s.norm()
	w := int64(n.To - n.From)
	return float64(n.Of)*float64(j/w) + float64(int64(n.From)+j%w)
}

// Pick returns the items of list that fall in s (by index, as Share counts
// them), in order.
func Pick[T any](s Segment, list []T) []T {
	n := s.norm()
	var out []T
	for k := range list {
		if p := k % n.Of; p >= n.From && p < n.To {
			out = append(out, list[k])
		}
	}
	return out
}

// Split is the n segments 0/n to n-1/n.
func Split(n int) []Segment {
	out := make([]Segment, n)
	for i := range out {
		out[i] = Part(i, n)
	}
	return out
}

// Coverage checks that segs (of one Of) cover the parts 0 to Of-1: it
// returns the parts no segment holds and the parts more than one holds,
// each as compact segments ("2/4", "0/8:3/8"). An error says the segments
// do not share one Of or one is not valid.
func Coverage(segs []Segment) (missing, overlap []Segment, err error) {
	if len(segs) == 0 {
		return nil, nil, errors.New("no segments")
	}
	of := segs[0].norm().Of
	count := make([]int, of)
	for _, s := range segs {
		s = s.norm()
		if !s.Valid() {
			return nil, nil, fmt.Errorf("segment %s: %w", s, ErrSyntax)
		}
		if s.Of != of {
			return nil, nil, fmt.Errorf("segment %s is of %d parts, %s of %d: all must split the run alike", s, s.Of, segs[0].norm(), of)
		}
		for p := s.From; p < s.To; p++ {
			count[p]++
		}
	}
	missing = Ranges(of, func(p int) bool { return count[p] == 0 })
	overlap = Ranges(of, func(p int) bool { return count[p] > 1 })
	return missing, overlap, nil
}

// Ranges is the runs of consecutive parts of 0 to of-1 for which in is
// true, as segments.
func Ranges(of int, in func(p int) bool) []Segment {
	var out []Segment
	for p := 0; p < of; p++ {
		if !in(p) {
			continue
		}
		q := p
		for q+1 < of && in(q+1) {
			q++
		}
		out = append(out, Segment{p, q + 1, of})
		p = q
	}
	return out
}

// Join writes segments as "0/4, 2/4:4/4".
func Join(segs []Segment) string {
	s := make([]string, len(segs))
	for i, g := range segs {
		s[i] = g.String()
	}
	return strings.Join(s, ", ")
}

package segment

import (
	"encoding/json"
	"slices"
	"testing"
)

// all is every segment of n parts, for n from 1 to maxN.
func all(maxN int) []Segment {
	var out []Segment
	for n := 1; n <= maxN; n++ {
		for a := 0; a < n; a++ {
			for b := a + 1; b <= n; b++ {
				out = append(out, Segment{a, b, n})
			}
		}
	}
	return out
}

func TestShareCountsByBruteForce(t *testing.T) {
	for _, s := range all(9) {
		for total := int64(0); total <= 40; total++ {
			want := int64(0)
			for k := int64(0); k < total; k++ {
				if p := int(k % int64(s.Of)); p >= s.From && p < s.To {
					want++
				}
			}
			if got := s.Share(total); got != want {
				t.Fatalf("%s.Share(%d) = %d, want %d", s, total, got, want)
			}
			if got := int64(len(Pick(s, make([]int, total)))); got != want {
				t.Fatalf("len(Pick(%s, %d items)) = %d, want %d", s, total, got, want)
			}
		}
	}
}

func TestPartsSumToWhole(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for total := int64(0); total <= 60; total++ {
			var sum, lo, hi int64 = 0, total, 0
			for _, s := range Split(n) {
				v := s.Share(total)
				sum += v
				lo, hi = min(lo, v), max(hi, v)
			}
			if sum != total {
				t.Fatalf("n=%d total=%d: shares sum to %d", n, total, sum)
			}
			if hi-lo > 1 {
				t.Fatalf("n=%d total=%d: shares from %d to %d: not spread evenly", n, total, lo, hi)
			}
		}
	}
}

// TestIndexInterleaves: the items of the segments of a split, mapped to the
// whole run's indexes, are every index exactly once, each segment's in
// increasing order; and a range segment's items are those of its parts.
func TestIndexInterleaves(t *testing.T) {
	for _, s := range all(8) {
		prev := -1.0
		for j := int64(0); j < 50; j++ {
			k := s.Index(j)
			if k <= prev {
				t.Fatalf("%s.Index(%d) = %g after %g: not increasing", s, j, k, prev)
			}
			if p := int(int64(k) % int64(s.Of)); p < s.From || p >= s.To {
				t.Fatalf("%s.Index(%d) = %g: part %d is not in the segment", s, j, k, p)
			}
			// Index is the inverse of Share: j items of s come before k.
			if got := s.Share(int64(k)); got != j {
				t.Fatalf("%s: %d items before index %g, want %d", s, got, k, j)
			}
			prev = k
		}
	}
	for n := 1; n <= 10; n++ {
		seen := map[float64]int{}
		for _, s := range Split(n) {
			for j := int64(0); j < 30; j++ {
				seen[s.Index(j)]++
			}
		}
		for k := 0; k < 30*n; k++ {
			if seen[float64(k)] != 1 {
				t.Fatalf("n=%d: index %d taken %d times", n, k, seen[float64(k)])
			}
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, s := range all(7) {
		got, err := Parse(s.String())
		if err != nil || got != s {
			t.Fatalf("Parse(%q) = %v, %v", s.String(), got, err)
		}
		b, _ := json.Marshal(s)
		var back Segment
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("JSON %s: %v, %v", b, back, err)
		}
	}
	if s, err := Parse("1/4:3/4"); err != nil || s != (Segment{1, 3, 4}) || s.Width() != 2 || s.Fraction() != 0.5 {
		t.Fatalf("Parse(1/4:3/4) = %v, %v", s, err)
	}
	for _, bad := range []string{"", "4/4", "-1/4", "1/0", "1/", "/4", "a/4", "1/4:1/4", "2/4:1/4", "1/4:2/5", "0/100001", "1/4:5/4", "1/4:", "1//4", " 1/4"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
	if (Segment{}).Label() != "0/1" || (Segment{}).String() != "" || Part(2, 5).Label() != "2/5" {
		t.Error("Label")
	}
	if !(Segment{}).IsWhole() || !Whole.IsWhole() || Part(0, 2).IsWhole() {
		t.Error("IsWhole")
	}
}

func TestCoverage(t *testing.T) {
	missing, overlap, err := Coverage([]Segment{Part(0, 6), Part(1, 6), {3, 6, 6}, Part(4, 6)})
	if err != nil {
		t.Fatal(err)
	}
	if Join(missing) != "2/6" || Join(overlap) != "4/6" {
		t.Fatalf("missing %q overlap %q", Join(missing), Join(overlap))
	}
	missing, overlap, _ = Coverage([]Segment{Part(0, 12), Part(1, 12), Part(5, 12)})
	if Join(missing) != "2/12:5/12, 6/12:12/12" || len(overlap) != 0 {
		t.Fatalf("missing %q overlap %q", Join(missing), Join(overlap))
	}
	if _, _, err := Coverage([]Segment{Part(0, 2), Part(1, 3)}); err == nil {
		t.Fatal("segments of 2 and 3 parts: no error")
	}
	for n := 1; n <= 8; n++ {
		m, o, err := Coverage(Split(n))
		if err != nil || len(m)+len(o) != 0 {
			t.Fatalf("Split(%d): missing %v overlap %v err %v", n, m, o, err)
		}
	}
	if got := slices.Collect(func(yield func(int) bool) {
		for _, s := range Ranges(5, func(p int) bool { return p != 2 }) {
			yield(s.Width())
		}
	}); !slices.Equal(got, []int{2, 2}) {
		t.Fatalf("Ranges widths %v", got)
	}
}

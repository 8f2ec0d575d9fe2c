package runner

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/connbench/connbench/segment"
	"github.com/spf13/pflag"
)

// specErr is the error Validate gives `connbench run ARGS`.
func specErr(t *testing.T, args ...string) error {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := &Spec{}
	s.DefineFlags(func(string) *pflag.FlagSet { return fs }, false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	s.Set = map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { s.Set[f.Name] = true })
	return s.Validate()
}

// TestSegmentSharesSumToWhole: the segments of a split, each taking its
// share of the whole spec, hold together exactly the whole run's -n, -c,
// --max-inflight, rate and source addresses; the whole spec and the run id
// are the same in every segment.
func TestSegmentSharesSumToWhole(t *testing.T) {
	start := soon()
	for _, n := range []int{1, 2, 3, 5, 7} {
		for _, base := range [][]string{
			{"-w", "per-request", "-n", "1001", "-c", "13", "--source", "10.0.0.1-10.0.0.9"},
			{"-w", "churn", "--rate", "700:1300", "-d", "3s", "--max-inflight", "100"},
			{"-w", "hold", "-n", "50", "--rate", "1000"},
			{"-w", "per-request", "--rate", "333", "--warmup", "1s", "-n", "10"},
		} {
			var nReq, nConc, nIn int64
			var rate, rateEnd float64
			var srcs []netip.Addr
			var id, whole string
			w := specFromArgs(t, append(base, "--start-at", start)...)
			for _, g := range segment.Split(n) {
				s := specFromArgs(t, append(base, "--segment", g.String(), "--start-at", start)...)
				if err := s.takeSegment(); err != nil {
					t.Fatalf("%v %s: %v", base, g, err)
				}
				nReq += s.Requests
				nConc += int64(s.Concurrency)
				nIn += int64(s.MaxInflight)
				rate += s.Rate.Start
				rateEnd += s.Rate.End
				srcs = append(srcs, s.Source.Addrs...)
				if cfg := s.Config(s.Workload, netip.MustParseAddrPort("127.0.0.1:1")); n > 1 && (cfg.Segment != g || cfg.WholeRate != w.Rate.Start || cfg.WholeRateEnd != w.Rate.End) {
					t.Fatalf("config segment %v, whole rate %g:%g; want %v, %g:%g", cfg.Segment, cfg.WholeRate, cfg.WholeRateEnd, g, w.Rate.Start, w.Rate.End)
				}
				if id == "" {
					id, whole = s.RunID, string(s.WholeSpec())
				}
				if s.RunID != id || string(s.WholeSpec()) != whole {
					t.Fatalf("%v: segment %s: run id %s and whole spec differ from segment 0's %s", base, g, s.RunID, id)
				}
				if n > 1 && string(w.WholeSpec()) != whole {
					t.Fatalf("%v: the unsplit run's whole spec differs:\n%s\n%s", base, w.WholeSpec(), whole)
				}
				if w.RunID != id {
					t.Fatalf("%v: unsplit run id %s, segments' %s: not derived from the same flags", base, w.RunID, id)
				}
			}
			if nReq != w.Requests || (w.Workload != "churn" && nConc != int64(w.Concurrency)) || len(srcs) != len(w.Source.Addrs) {
				t.Errorf("%v in %d: -n %d -c %d sources %d; whole -n %d -c %d sources %d", base, n, nReq, nConc, len(srcs), w.Requests, w.Concurrency, len(w.Source.Addrs))
			}
			if w.Workload == "churn" && nIn != int64(w.MaxInflight) {
				t.Errorf("%v in %d: --max-inflight %d, whole %d", base, n, nIn, w.MaxInflight)
			}
			if d := rate - w.Rate.Start; d > 1e-6 || d < -1e-6 || rateEnd-w.Rate.End > 1e-6 || rateEnd-w.Rate.End < -1e-6 {
				t.Errorf("%v in %d: rate %g:%g, whole %g:%g", base, n, rate, rateEnd, w.Rate.Start, w.Rate.End)
			}
		}
	}
}

// soon is a --start-at an hour ahead.
func soon() string { return time.Now().Add(time.Hour).UTC().Format(time.RFC3339) }

// TestSegmentWarmupShare: with an open-loop warm-up, a segment's share of
// -n is of the arrivals the whole run measures (from the first one due
// after the warm-up, 333 at 333/s for 1 s), not of the first n.
func TestSegmentWarmupShare(t *testing.T) {
	for i, want := range []int64{2, 3, 3, 2} {
		s := specFromArgs(t, "--rate", "333", "--warmup", "1s", "-n", "10", "--segment", segment.Part(i, 4).String(), "--start-at", soon())
		if err := s.takeSegment(); err != nil || s.Requests != want {
			t.Errorf("segment %d/4: -n %d (%v), want %d (arrivals 333 to 342: 333 ≡ 1 mod 4)", i, s.Requests, err, want)
		}
	}
}

func TestSegmentRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--segment", "1/4"}, "needs --start-at"},
		{[]string{"--segment", "4/4", "--start-at", soon()}, "--segment"},
		{[]string{"--segment", "1/4", "--start-at", soon(), "--procs", "2"}, "--procs"},
		{[]string{"--segment", "5/8", "-c", "4", "--start-at", soon()}, "-c 4 leaves this segment no connection"},
		{[]string{"--segment", "3/4", "-n", "3", "--start-at", soon()}, "-n 3 leaves this segment nothing"},
		{[]string{"--segment", "2/3", "--source", "10.0.0.1,10.0.0.2", "--start-at", soon()}, "none of them for this segment"},
		{[]string{"--run-id", "a/b"}, "--run-id"},
		{[]string{"--run-id", strings.Repeat("x", 65)}, "--run-id"},
	} {
		err := specErr(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}

// TestProcsChildrenAreSegments: --procs N gives child i the segment i/N of
// the whole spec; the children's shares of -n sum to the whole.
func TestProcsChildrenAreSegments(t *testing.T) {
	s := specFromArgs(t, "-n", "1000", "-c", "10", "--source", "127.0.0.2-127.0.0.4")
	s.procsN = 3
	var sum int64
	for i := 0; i < 3; i++ {
		c := childCopy(t, s.childSpec(i, time.Now().Add(time.Second)))
		if err := c.takeSegment(); err != nil {
			t.Fatal(err)
		}
		if c.Segment != segment.Part(i, 3) || c.RunID != s.RunID || len(c.Source.Addrs) != 1 {
			t.Fatalf("child %d: segment %v run id %s sources %v", i, c.Segment, c.RunID, c.Source.Addrs)
		}
		sum += c.Requests
	}
	if sum != 1000 {
		t.Fatalf("children's -n sum to %d", sum)
	}
}

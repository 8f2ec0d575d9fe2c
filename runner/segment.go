package runner

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/segment"
)

// A run split over generators (--segment on several machines, or --procs
// on one) gives each generator a segment of the run: the Spec it gets is
// the whole run's plus its Segment, and takeSegment turns it into the
// generator's share by the segment package's arithmetic (one way to split
// a run). Every generator's document records its segment, the whole run's
// spec and the run id, so that merge can check the parts add up.

// MaxRunIDLen bounds --run-id.
const MaxRunIDLen = 64

// perGenerator are the flags whose values may differ between the
// generators of one run: they are not part of the whole run's spec.
var perGenerator = []string{"segment", "run-id", "jsonl", "output", "hlog", "hgrm", "junit", "cpuprofile", "quiet", "no-check", "procs", "raise-limits", "no-sample", "start-at"}

// validateSegment checks --segment and --run-id, and derives the run id
// when none was given.
func (s *Spec) validateSegment() error {
	if !s.Segment.Valid() {
		return Usagef("--segment %q: %v", s.Segment, segment.ErrSyntax)
	}
	if err := checkRunID(s.RunID); err != nil {
		return err
	}
	if !s.Segment.IsWhole() {
		switch {
		case s.MainJob:
			return Usagef("--segment is for connbench run: the default job varies the workload itself")
		case s.Procs != "" && s.Procs != "1":
			return Usagef("--segment %s with --procs %s: give each process a segment of its own instead (split the run into more segments)", s.Segment, s.Procs)
		case s.StartAt == "" && !s.Child:
			return Usagef("--segment %s needs --start-at: the segments of a run start together, or their schedules do not interleave", s.Segment)
		}
		if s.whole == nil {
			// A share of nothing is refused now, before any load.
			if err := s.Clone().takeSegment(); err != nil {
				return err
			}
		}
	}
	if s.RunID == "" {
		s.RunID = s.deriveRunID()
	}
	return nil
}

// checkRunID checks --run-id: 1 to MaxRunIDLen letters, digits, '.', '_'
// and '-' (it becomes a metric label and part of file names), or empty.
func checkRunID(id string) error {
	if len(id) > MaxRunIDLen {
		return Usagef("--run-id: %d bytes, at most %d", len(id), MaxRunIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return Usagef("--run-id %q: only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// deriveRunID is the run id when --run-id is not given: with --start-at, a
// digest of the whole run's spec and the start, so that generators given
// the same flags agree without being told; without, a random one.
func (s *Spec) deriveRunID() string {
	if s.StartAt == "" {
		var b [6]byte
		rand.Read(b[:])
		return "r" + hex.EncodeToString(b[:])
	}
	sum := sha256.New()
	sum.Write(s.WholeSpec())
	sum.Write([]byte{0})
	sum.Write([]byte(s.StartAt))
	return "r" + hex.EncodeToString(sum.Sum(nil)[:6])
}

// WholeSpec is the whole run's spec as JSON: the spec without what may
// differ between the generators of one run (perGenerator: the segment, run
// id, outputs, start, processes). Every segment's document carries it, and
// merge checks they agree.
func (s *Spec) WholeSpec() json.RawMessage {
	w := s
	if s.whole != nil {
		w = s.whole
	}
	c := w.Clone()
	c.Segment, c.RunID, c.JSONL = segment.Segment{}, "", false
	c.Output, c.HLog, c.HGrm, c.JUnit, c.CPUProfile, c.Quiet, c.NoCheck = "", "", "", "", "", false, false
	c.Procs, c.RaiseLimits, c.NoSample, c.StartAt, c.Child = "", false, false, "", false
	c.MemProfile, c.HoldSync, c.HoldDelay, c.HoldLaneRate = "", false, 0, 0 // a --procs child's own
	for _, n := range perGenerator {
		delete(c.Set, n)
	}
	b, _ := json.Marshal(c)
	return b
}

// takeSegment turns s, the whole run's spec with a Segment, into the
// segment's share (once; the whole run's spec is kept): its share of -n,
// -c, --max-inflight, the source addresses, and of the rate, whose
// schedule the engine interleaves with the other segments'. A segment left
// nothing to do is a usage error.
func (s *Spec) takeSegment() error {
	g := s.Segment
	if s.whole != nil || g.IsWhole() {
		return nil
	}
	w := s.Clone()
	open := s.Rate.IsSet()
	if s.Requests > 0 {
		// The whole run measures the arrivals first to first+n-1: with an
		// open-loop warm-up, first is the first arrival due after it (the
		// engine's test: index >= rate x warm-up), else 0.
		first := int64(0)
		if open && s.Workload != "hold" && w.Warmup > 0 {
			first = int64(math.Ceil(w.Rate.Start / 1e9 * float64(w.Warmup)))
		}
		s.Requests = g.Share(first+w.Requests) - g.Share(first)
		if s.Requests == 0 {
			return Usagef("--segment %s: -n %d leaves this segment nothing to do (-n must be at least the number of segments, %d)", g, w.Requests, g.Of)
		}
	}
	s.Concurrency = int(g.Share(int64(w.Concurrency)))
	if s.Concurrency == 0 {
		if !open && s.Workload != "hold" {
			return Usagef("--segment %s: -c %d leaves this segment no connection (-c must be at least the number of segments, %d)", g, w.Concurrency, g.Of)
		}
		s.Concurrency = 1 // an open loop's pool or bound, not a share of work
	}
	if open && s.HoldLaneRate > 0 {
		// A hold's lane (holdLanes): the share of -n at the lane's rate,
		// on a schedule of its own that starts after HoldDelay.
		s.Rate = Rate{Start: s.HoldLaneRate}
		s.MaxInflight = max(1, int(g.Share(int64(w.MaxInflight))))
	} else if open {
		f := g.Fraction()
		s.Rate = Rate{Start: w.Rate.Start * f, End: w.Rate.End * f, Ramp: w.Rate.Ramp}
		s.MaxInflight = max(1, int(g.Share(int64(w.MaxInflight))))
	}
	if n := len(w.Source.Addrs); n > 0 {
		if s.Child && s.Workload == "hold" && n > 1 {
			// A hold's processes on one host (--procs) share its
			// sources, which were counted so that none is over a
			// quarter full (one of a process's own would fill); the
			// kernel picks free ports per 4-tuple across processes.
			// Process i starts its turns at source i×n/parts, so that
			// the sources take turns evenly across processes too (each
			// would otherwise start at the first, and the first
			// sources fill past the others).
			k := (g.From * n / g.Of) % n
			addrs := make([]netip.Addr, 0, n)
			s.Source.Addrs = append(append(addrs, w.Source.Addrs[k:]...), w.Source.Addrs[:k]...)
		} else if s.Child && n < g.Of {
			// Processes on one host (--procs) with fewer sources than
			// processes all share them.
		} else if mine := segment.Pick(g, w.Source.Addrs); len(mine) > 0 {
			s.Source = sourceList(mine)
		} else {
			return Usagef("--segment %s: --source names %d addresses, none of them for this segment (give at least one per segment, %d)", g, n, g.Of)
		}
	}
	s.whole = w
	return nil
}

// config's segment: the spec's once its share was taken.
func (s *Spec) configSegment() segment.Segment {
	if s.whole == nil || s.HoldLaneRate > 0 {
		return segment.Segment{}
	}
	return s.Segment
}

// stamp records the run id, and the segment with the whole run's spec, in
// a document this spec made.
func (s *Spec) stamp(doc *results.Document) {
	doc.RunID = s.RunID
	if s.whole != nil {
		doc.Segment = &results.Segment{Of: s.Segment.Of, Parts: []string{s.Segment.String()}, Spec: s.WholeSpec()}
	}
}

// CheckSegment reports whether s's segment has something to do: the error
// takeSegment would give (a share of nothing).
func (s *Spec) CheckSegment() error { return s.Clone().takeSegment() }

// lateStart is how late after --start-at a segment may begin before its
// document says so: its arrivals are that much behind the other segments'.
const lateStart = 100 * time.Millisecond

// lateNote is the note for a segment that began late after --start-at
// (late: the time from the start to the wait's end), or "".
func (s *Spec) lateNote(late time.Duration) string {
	if s.whole == nil || late <= lateStart {
		return ""
	}
	return fmt.Sprintf("segment %s began %s after --start-at (the process started late): its schedule is that much behind the other segments', which a merge does not correct",
		s.Segment, late.Round(time.Millisecond))
}

// wholeRate is the whole run's --rate once a segment's share was taken
// (zero otherwise): the schedule the segment takes its arrivals from.
func (s *Spec) wholeRate() Rate {
	if s.whole == nil || s.HoldLaneRate > 0 {
		return Rate{}
	}
	return s.whole.Rate
}

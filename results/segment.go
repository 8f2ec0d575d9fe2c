package results

import (
	"fmt"
	"strings"

	"github.com/connbench/connbench/segment"
)

// mergeSegments checks the segments the sources hold (Document.Segment)
// and returns the merged document's: nil when no source holds a segment.
// Every source must then hold one, of one run (run id, number of parts,
// whole-run spec); no part may be held twice, and none may be missing
// unless opt.Partial. Errors are one line and name the segments.
func mergeSegments(srcs []Source, opt MergeOptions) (*Segment, error) {
	var with, without []string
	for _, s := range srcs {
		if s.Doc.Segment != nil {
			with = append(with, s.Name)
		} else {
			without = append(without, s.Name)
		}
	}
	if len(with) == 0 {
		return nil, nil
	}
	if len(without) > 0 {
		return nil, fmt.Errorf("results: merge: %w: %s holds a segment of run %s, %s no segment (a whole run)",
			ErrMerge, with[0], Printable(srcs[0].Doc.RunID), strings.Join(without, ", "))
	}
	first := srcs[0]
	fs := first.Doc.Segment
	var segs []segment.Segment
	owner := map[int][]string{} // part -> sources holding it
	for _, s := range srcs {
		d := s.Doc
		if d.RunID != first.Doc.RunID {
			return nil, fmt.Errorf("results: merge: %w: %s is of run %s, %s of run %s",
				ErrMerge, s.Name, Printable(d.RunID), first.Name, Printable(first.Doc.RunID))
		}
		if !sameJSON(d.Segment.Spec, fs.Spec) {
			return nil, fmt.Errorf("results: merge: %w: %s and %s are of run %s but their whole-run specs differ (generators given different run flags)",
				ErrMerge, s.Name, first.Name, Printable(d.RunID))
		}
		if len(d.Segment.Parts) == 0 {
			return nil, fmt.Errorf("results: merge: %w: %s: a segment record without parts", ErrMerge, s.Name)
		}
		for _, t := range d.Segment.Parts {
			g, err := segment.Parse(t)
			if err != nil || g.Of != fs.Of || d.Segment.Of != fs.Of {
				return nil, fmt.Errorf("results: merge: %w: %s: segment %q is not one of the %d parts %s's run was split into",
					ErrMerge, s.Name, Printable(t), fs.Of, first.Name)
			}
			segs = append(segs, g)
			for p := g.From; p < g.To; p++ {
				owner[p] = append(owner[p], s.Name)
			}
		}
	}
	missing, overlap, err := segment.Coverage(segs)
	if err != nil {
		return nil, fmt.Errorf("results: merge: %w: %v", ErrMerge, err)
	}
	if len(overlap) > 0 {
		var what []string
		for _, g := range overlap {
			what = append(what, fmt.Sprintf("%s (in %s)", g, strings.Join(owner[g.From], " and ")))
		}
		return nil, fmt.Errorf("results: merge: %w: segment %s held twice: its counts would be counted twice",
			ErrMerge, strings.Join(what, "; "))
	}
	if len(missing) > 0 && !opt.Partial {
		return nil, fmt.Errorf("results: merge: %w: run %s is split into %d segments; missing: %s (--partial merges the ones there are, flagged partial)",
			ErrMerge, Printable(first.Doc.RunID), fs.Of, segment.Join(missing))
	}
	out := &Segment{Of: fs.Of, Spec: fs.Spec}
	for _, g := range segment.Ranges(fs.Of, func(p int) bool { return len(owner[p]) > 0 }) {
		out.Parts = append(out.Parts, g.String())
	}
	for _, g := range missing {
		out.Missing = append(out.Missing, g.String())
	}
	return out, nil
}

// sameRunID reports whether every source names one run id.
func sameRunID(srcs []Source) bool {
	for _, s := range srcs {
		if s.Doc.RunID == "" || s.Doc.RunID != srcs[0].Doc.RunID {
			return false
		}
	}
	return true
}

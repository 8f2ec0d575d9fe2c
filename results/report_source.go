package results

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Source is one input document of a report or a merge, with the name it is
// reported under: the file name as given on the command line.
type Source struct {
	Name string
	Doc  *Document
}

// runKey identifies a run across documents: its label and, for the
// repetitions of a compare --repeat variant, its repetition number.
type runKey struct {
	label string
	rep   int
}

func keyOf(r *Run) runKey { return runKey{r.Label, r.Repetition} }

func (k runKey) String() string {
	if k.rep > 0 {
		return fmt.Sprintf("%q (repetition %d)", k.label, k.rep)
	}
	return fmt.Sprintf("%q", k.label)
}

// Combine returns one document holding the runs of every source, in order,
// for reports over several files. One source is returned as it is.
//
// A run whose label (and repetition) occurs in more than one source is
// relabelled "NAME: LABEL" with its source's name, so the runs stay apart
// in tables. Each run gets a note naming its source (and its host when the
// sources come from several). The combined document keeps the first
// source's tool; its start is the earliest; it is partial when any source
// is. Its host and sysctls are the common ones: where the sources differ,
// host fields are joined with ", " and each run whose source's sysctls
// differ from the first's carries its own in Run.Sysctls.
func Combine(srcs []Source) *Document {
	if len(srcs) == 1 {
		return srcs[0].Doc
	}
	out := &Document{Schema: Schema}
	if len(srcs) == 0 {
		return out
	}
	first := srcs[0].Doc
	out.Tool = first.Tool
	out.Host = combineHosts(srcs)
	out.Sysctls = first.Sysctls
	seen := map[runKey]map[int]bool{}
	for i, s := range srcs {
		for j := range s.Doc.Runs {
			k := keyOf(&s.Doc.Runs[j])
			if seen[k] == nil {
				seen[k] = map[int]bool{}
			}
			seen[k][i] = true
		}
	}
	manyHosts := out.Host.Hostname != first.Host.Hostname || out.Host.Kernel != first.Host.Kernel
	for i, s := range srcs {
		d := s.Doc
		if out.StartedAt.IsZero() || (!d.StartedAt.IsZero() && d.StartedAt.Before(out.StartedAt)) {
			out.StartedAt = d.StartedAt
		}
		out.Partial = out.Partial || d.Partial
		for _, r := range d.Runs {
			if len(seen[keyOf(&r)]) > 1 {
				r.Label = s.Name + ": " + r.Label
			}
			if r.Sysctls == nil && i > 0 && !maps.Equal(d.Sysctls, first.Sysctls) {
				r.Sysctls = d.Sysctls
			}
			note := "from " + s.Name
			if manyHosts {
				note += fmt.Sprintf(" (host %s, kernel %s)", d.Host.Hostname, d.Host.Kernel)
			}
			r.Notes = append([]string{note}, r.Notes...)
			out.Runs = append(out.Runs, r)
		}
	}
	return out
}

// combineHosts returns the sources' common host, with the fields that
// differ joined (distinct values in order, ", "), CPUs summed and the open
// file limit the lowest.
func combineHosts(srcs []Source) Host {
	var names, kernels []string
	h := Host{}
	for i, s := range srcs {
		d := s.Doc
		if !slices.Contains(names, d.Host.Hostname) {
			names = append(names, d.Host.Hostname)
		}
		if !slices.Contains(kernels, d.Host.Kernel) {
			kernels = append(kernels, d.Host.Kernel)
		}
		if i == 0 || d.Host.OpenFileLimit < h.OpenFileLimit {
			h.OpenFileLimit = d.Host.OpenFileLimit
		}
	}
	h.Hostname = strings.Join(names, ", ")
	h.Kernel = strings.Join(kernels, ", ")
	if len(names) == 1 {
		h.CPUs = srcs[0].Doc.Host.CPUs
	} else {
		// Distinct machines: their CPUs add up.
		seen := map[string]bool{}
		for _, s := range srcs {
			if !seen[s.Doc.Host.Hostname] {
				seen[s.Doc.Host.Hostname] = true
				h.CPUs += s.Doc.Host.CPUs
			}
		}
	}
	return h
}

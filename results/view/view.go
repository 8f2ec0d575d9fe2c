// Package view renders a results.Document (or the sources of a report) as
// text, CSV, hgrm, hlog or HTML; it never measures or reads the system, and
// reads results only through the results model.
package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/results"
)

// Options are what a renderer may be told beyond its sources.
type Options struct {
	// Phases are the phases hgrm writes, in order; nil means DefaultPhases.
	// Other formats ignore them.
	Phases []string
}

// DefaultPhases are the phases hgrm writes when Options.Phases is nil.
var DefaultPhases = []string{"transaction"}

// Renderer writes the sources in one format. An error leaves w holding
// part of the output at most: callers render into a buffer.
type Renderer func(w io.Writer, srcs []results.Source, o Options) error

// formats is the registry of the formats connbench report writes, in the
// order help lists them. A new output is a file of its own and one line
// here.
var formats = []struct {
	name   string
	render Renderer
}{
	{"text", func(w io.Writer, srcs []results.Source, _ Options) error { return WriteReport(w, srcs) }},
	{"json", func(w io.Writer, srcs []results.Source, _ Options) error {
		return results.Encode(w, results.Combine(srcs))
	}},
	{"csv", func(w io.Writer, srcs []results.Source, _ Options) error { return WriteCSV(w, srcs) }},
	{"series-csv", func(w io.Writer, srcs []results.Source, _ Options) error { return WriteSeriesCSV(w, srcs) }},
	{"hgrm", writeHgrmFormat},
	{"html", func(w io.Writer, srcs []results.Source, _ Options) error { return WriteHTML(w, srcs) }},
}

// Names returns the format names, in the order help lists them.
func Names() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.name
	}
	return out
}

// Lookup returns the renderer of the named format, or false.
func Lookup(name string) (Renderer, bool) {
	for _, f := range formats {
		if f.name == name {
			return f.render, true
		}
	}
	return nil, false
}

// writeHgrmFormat is WriteHgrm for the registry: the phases of o, and an
// error when no run has latencies in any of them (an empty file would
// look like a result).
func writeHgrmFormat(w io.Writer, srcs []results.Source, o Options) error {
	phases := o.Phases
	if phases == nil {
		phases = DefaultPhases
	}
	n, err := WriteHgrm(w, srcs, phases)
	if err == nil && n == 0 {
		err = fmt.Errorf("no run has latencies in phase %s", strings.Join(phases, " or "))
	}
	return err
}

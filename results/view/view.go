// Package view renders a results.Document (or the sources of a report) as
// text, CSV, hgrm, hlog or HTML; it never measures or reads the system, and
// reads results only through the results model.
package view

import (
	"fmt"
	"io"
	"slices"
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
	about  string // for help: what the format holds
	render Renderer
}{
	{"text", "the table a run prints (the default); several files: one line per file, then all their runs side by side",
		func(w io.Writer, srcs []results.Source, _ Options) error { return WriteReport(w, srcs) }},
	{"json", "one document holding the runs of every file; a label found in several files is prefixed with the file name (\"a.json: pooled\")",
		func(w io.Writer, srcs []results.Source, _ Options) error {
			return results.Encode(w, results.Combine(srcs))
		}},
	{"csv", "one row per run: counts, rates, failures, and per phase the count, min, mean, p50, p90, p99, p99.9 and max in ns",
		func(w io.Writer, srcs []results.Source, _ Options) error { return WriteCSV(w, srcs) }},
	{"series-csv", "one row per run and interval of the time series: rates, p50/p99 per phase, socket states, ports in use, failures by class",
		func(w io.Writer, srcs []results.Source, _ Options) error { return WriteSeriesCSV(w, srcs) }},
	{"hgrm", "HdrHistogram's percentile distribution (values in ms, as its plotter expects), one block per run for the --phase chosen",
		writeHgrmFormat},
	{"html", "one self-contained page (no network): percentile spectra, rate and latency over time, socket states, failures, configuration",
		func(w io.Writer, srcs []results.Source, _ Options) error { return WriteHTML(w, srcs) }},
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

// FormatsHelp lists the formats and what each holds, wrapped for a
// terminal, for report's help.
func FormatsHelp() string {
	var b strings.Builder
	for _, f := range formats {
		line := fmt.Sprintf("  %-11s", f.name)
		for _, word := range strings.Fields(f.about) {
			if len(line)+1+len(word) > 78 {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", 14) + word
				continue
			}
			line += " " + word
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// ParsePhases reads the phases hgrm is to write: "all", or a
// comma-separated list of results.PhaseOrder's names. The error names the
// value that is not a phase.
func ParsePhases(s string) ([]string, error) {
	if s == "all" {
		return results.PhaseOrder, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if !slices.Contains(results.PhaseOrder, p) {
			return nil, fmt.Errorf("%q: want all or a comma-separated list of %s", p, strings.Join(results.PhaseOrder, ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

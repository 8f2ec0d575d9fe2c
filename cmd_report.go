package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/spf13/pflag"
)

const reportUsage = `Usage: connbench report FILE... [--format FORMAT] [-o OUT]

Reads result files (written by connbench -o or connbench run -o) and renders
them. FORMAT is one of:

  text        the table a run prints (the default); several files: one line
              per file, then all their runs side by side
  json        one document holding the runs of every file; a label found in
              several files is prefixed with the file name ("a.json: pooled")
  csv         one row per run: counts, rates, failures, and per phase the
              count, min, mean, p50, p90, p99, p99.9 and max in ns
  series-csv  one row per run and interval of the time series: rates, p50/p99
              per phase, socket states, ports in use, failures by class
  hgrm        HdrHistogram's percentile distribution (values in ms, as its
              plotter expects), one block per run for the --phase chosen
  html        one self-contained page (no network): percentile spectra, rate
              and latency over time, socket states, failures, configuration

Each FILE may be a file, a FIFO or /dev/stdin, of at most 512 MiB. OUT is
replaced atomically when it is a regular file, written in place when it is a
device or FIFO (-o /dev/null); a symbolic link to a regular file is refused.

Examples:
  connbench report connbench.json
  connbench report connbench.json --format html -o report.html
  connbench report gen1.json gen2.json --format csv -o runs.csv
  connbench report connbench.json --format hgrm --phase handshake -o handshake.hgrm

Flags:
`

var reportFormats = view.Names()

type reportOptions struct {
	format string
	output string
	phase  string
	phases []string // from phase, filled by validate
}

func (o *reportOptions) validate(fs *pflag.FlagSet) error {
	if !slices.Contains(reportFormats, o.format) {
		return usagef("--format %q: want %s", o.format, strings.Join(reportFormats, ", "))
	}
	if fs.Changed("phase") && o.format != "hgrm" {
		return usagef("--phase applies to --format hgrm only")
	}
	if o.output == "" {
		return usagef("--output: empty file name (use - for stdout)")
	}
	if o.phase == "all" {
		o.phases = results.PhaseOrder
		return nil
	}
	for _, p := range strings.Split(o.phase, ",") {
		if !slices.Contains(results.PhaseOrder, p) {
			return usagef("--phase %q: want all or a comma-separated list of %s", p, strings.Join(results.PhaseOrder, ", "))
		}
		o.phases = append(o.phases, p)
	}
	return nil
}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench report", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var o reportOptions
	fs.StringVarP(&o.format, "format", "f", "text", strings.Join(reportFormats[:len(reportFormats)-1], ", ")+" or "+reportFormats[len(reportFormats)-1])
	fs.StringVarP(&o.output, "output", "o", "-", "write to this file (- for stdout); written whole or not at all")
	fs.StringVar(&o.phase, "phase", "transaction", "hgrm: the phase(s) to write, comma-separated, or all")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, reportUsage, fs.FlagUsages())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench report --help)", err))
	}
	if fs.NArg() == 0 {
		return exitCode(stderr, usagef("report needs at least one result file (see connbench report --help)"))
	}
	if err := o.validate(fs); err != nil {
		return exitCode(stderr, err)
	}
	if err := results.CheckWritable(o.output); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	srcs, err := readSources(fs.Args(), false)
	if err != nil {
		return exitCode(stderr, err)
	}
	render, _ := view.Lookup(o.format) // validate checked the name
	var buf bytes.Buffer
	err = render(&buf, srcs, view.Options{Phases: o.phases})
	if err != nil {
		return exitCode(stderr, err)
	}
	if err := writeOutput(o.output, buf.Bytes(), stdout); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	if o.output != "-" {
		fmt.Fprintf(stderr, "connbench: wrote %s\n", o.output)
	}
	return exitOK
}

// writeOutput writes data to stdout for "-", else by results.Write's
// rules: a device or FIFO in place, a new or regular file atomically (a
// failure leaves no partial file behind), a symbolic link to a regular
// file or a directory refused.
func writeOutput(path string, data []byte, stdout io.Writer) error {
	return results.Write(path, stdout, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// readSources is results.ReadSources, with one file given twice to a merge
// a usage error.
func readSources(paths []string, distinct bool) ([]results.Source, error) {
	srcs, err := results.ReadSources(paths, distinct)
	if errors.Is(err, results.ErrSameFile) {
		err = usagef("%v", err)
	}
	return srcs, err
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/runner"
	"github.com/spf13/pflag"
)

var reportFormats = view.Names()

type reportOptions struct {
	format string
	output string
	phase  string
	phases []string // from phase, filled by validate
}

func (o *reportOptions) validate(fs *pflag.FlagSet) error {
	if _, ok := view.Lookup(o.format); !ok {
		return usagef("--format %q: want %s", o.format, strings.Join(reportFormats, ", "))
	}
	if fs.Changed("phase") && o.format != "hgrm" {
		return usagef("--phase applies to --format hgrm only")
	}
	if o.output == "" {
		return usagef("--output: empty file name (use - for stdout)")
	}
	var err error
	if o.phases, err = view.ParsePhases(o.phase); err != nil {
		return usagef("--phase %v", err)
	}
	return nil
}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench report")
	fs := f.Group("Flags")
	var o reportOptions
	fs.StringVarP(&o.format, "format", "f", "text", strings.Join(reportFormats[:len(reportFormats)-1], ", ")+" or "+reportFormats[len(reportFormats)-1])
	fs.StringVarP(&o.output, "output", "o", "-", "write to this file (- for stdout); written whole or not at all")
	fs.StringVar(&o.phase, "phase", "transaction", "hgrm: the phase(s) to write, comma-separated, or all")
	var base runner.Baseline // --baseline, --fail-on, --junit
	base.DefineFlags(fs)
	if err := f.Done().ParseArgs(args); err != nil {
		return stop(err, fmt.Sprintf(helpText("report"), view.FormatsHelp())+f.Usage()+helpText("thresholds")+helpText("exit-status"), stdout, stderr)
	}
	if f.NArg() == 0 {
		return exitCode(stderr, usagef("report needs at least one result file (see connbench report --help)"))
	}
	if err := o.validate(f.FlagSet); err != nil {
		return exitCode(stderr, err)
	}
	if base.Given() {
		return exitCode(stderr, base.Report(f.Args(), o.output, o.format, stdout, stderr))
	}
	if err := results.CheckWritable(o.output); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	srcs, err := results.ReadSources(f.Args(), false)
	if err != nil {
		return exitCode(stderr, err)
	}
	render, _ := view.Lookup(o.format) // validate checked the name
	var buf bytes.Buffer               // rendered whole first: an error writes nothing
	if err := render(&buf, srcs, view.Options{Phases: o.phases}); err != nil {
		return exitCode(stderr, err)
	}
	if err := results.Write(o.output, stdout, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	if o.output != "-" {
		fmt.Fprintf(stderr, "connbench: wrote %s\n", o.output)
	}
	return exitOK
}

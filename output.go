package main

import (
	"context"
	"fmt"
	"io"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/runner"
)

// finish shows and writes what a plan made, then maps how it ended to an
// exit status: the table (with -o - the JSON owns stdout and the table goes
// to stderr), the JSON (-o), the histogram files; a document that came with
// an error (children of a --procs run lost) is still written.
func finish(ctx context.Context, doc *results.Document, err error, s *runner.Spec, stdout, stderr io.Writer) int {
	if doc == nil {
		return exitCode(stderr, err)
	}
	tableOut := stdout
	if s.Output == "-" {
		tableOut = stderr
	}
	if werr := view.WriteTable(tableOut, doc); werr != nil {
		return exitCode(stderr, werr)
	}
	if s.Output != "" {
		if werr := results.Write(s.Output, stdout, func(w io.Writer) error { return results.Encode(w, doc) }); werr != nil {
			return exitCode(stderr, fmt.Errorf("--output: %w", werr))
		}
		if s.Output != "-" && !s.Quiet {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", s.Output)
		}
	}
	if werr := writeHistograms(doc, s.HLog, s.HGrm, s.Output, s.Quiet, stderr); werr != nil {
		return exitCode(stderr, werr)
	}
	switch {
	case ctx.Err() != nil || (doc.Partial && err == nil):
		fmt.Fprintln(stderr, "connbench: interrupted; the results above are partial")
		if sig := runner.StopSignal(ctx); sig != 0 {
			return exitForSignal(sig)
		}
		return exitInterrupted
	case err != nil:
		return exitCode(stderr, err)
	}
	return exitOK
}

// writeHistograms writes the --hlog and --hgrm files of doc (when asked),
// by results.Write's rules (a device or FIFO in place, a file atomically).
func writeHistograms(doc *results.Document, hlog, hgrm, output string, quiet bool, stderr io.Writer) error {
	// The run's validation refuses this before the run; here it keeps an
	// --hlog or --hgrm from replacing the -o file just written.
	if err := results.CheckOutputs(map[string]string{"-o": output, "--hlog": hlog, "--hgrm": hgrm}); err != nil {
		return usagef("%v (-o was written)", err)
	}
	if hlog != "" {
		if err := results.WriteAtomic(hlog, func(w io.Writer) error { return view.WriteHlog(w, doc) }); err != nil {
			return fmt.Errorf("--hlog: %w", err)
		}
		if !quiet {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", hlog)
		}
	}
	if hgrm != "" {
		name := output
		if name == "" || name == "-" {
			name = "run"
		}
		err := results.WriteAtomic(hgrm, func(w io.Writer) error {
			_, err := view.WriteHgrm(w, []results.Source{{Name: name, Doc: doc}}, results.PhaseOrder)
			return err
		})
		if err != nil {
			return fmt.Errorf("--hgrm: %w", err)
		}
		if !quiet {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", hgrm)
		}
	}
	return nil
}

package main

import (
	"context"
	"errors"
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
	if len(doc.Runs) == 0 {
		// Stopped before anything started (waiting for --start-at): no
		// file is replaced by a document that holds nothing.
		if err != nil {
			return exitCode(stderr, err)
		}
		fmt.Fprintln(stderr, "connbench: interrupted before the start: nothing was measured, nothing written")
		return exitFor(ctx)
	}
	tableOut := stdout
	if s.Output == "-" {
		tableOut = stderr
	}
	therr := runner.CheckThresholds(doc, s) // recorded in the JSON and --junit
	terr := view.WriteTable(tableOut, doc)  // a closed stdout must not cost the files
	written, werr := runner.WriteOutputs(doc, s, stdout)
	for _, f := range written {
		if !s.Quiet {
			fmt.Fprintf(stderr, "connbench: wrote %s\n", f)
		}
	}
	if werr != nil || terr != nil {
		return exitCode(stderr, errors.Join(werr, terr))
	}
	view.WriteThresholds(tableOut, doc.Thresholds) // last, after the files
	switch {
	case ctx.Err() != nil || (doc.Partial && err == nil):
		fmt.Fprintln(stderr, "connbench: interrupted; the results above are partial")
		return exitFor(ctx)
	case err != nil:
		return exitCode(stderr, err)
	}
	return exitCode(stderr, therr)
}

// exitFor is the exit status of a run a signal stopped.
func exitFor(ctx context.Context) int { return exitForSignal(runner.StopSignal(ctx)) }

package main

import (
	"io"
	"os"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
)

// cmdChild is the child side of a run a parent connbench split off (a
// --procs share, or a compare variant in a fresh network namespace): the
// request comes on standard input, the result document goes to standard
// output, what the run has to say to standard error.
func cmdChild(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		return exitCode(stderr, usagef("%s: takes its request on standard input, not arguments", runner.ChildCommand))
	}
	ctx, stop := runner.SignalContext() // before anything: the parent may pass a SIGINT on at once
	defer stop()
	req, err := runner.ReadChildRequest(os.Stdin)
	if err != nil {
		return exitCode(stderr, err)
	}
	doc, err := runner.RunChild(ctx, req, runner.NewText(stderr, req.Spec.Quiet))
	if doc == nil {
		return exitCode(stderr, err)
	}
	if werr := results.Encode(stdout, doc); werr != nil {
		return exitCode(stderr, werr)
	}
	if err == nil && doc.Partial {
		return exitFor(ctx)
	}
	return exitCode(stderr, err)
}

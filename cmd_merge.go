package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
)

func cmdMerge(args []string, stdout, stderr io.Writer) int {
	fs := cli.New("connbench merge")
	var output string
	var opt results.MergeOptions
	fs.Group("Flags").StringVarP(&output, "output", "o", "-", "write the merged result to this file (- for stdout); written whole or not at all")
	fs.Group("Flags").BoolVar(&opt.Partial, "partial", false, "merge the segments there are of a run split with --segment when some are missing (the result is flagged partial and names them)")
	if err := fs.Done().ParseArgs(args); err != nil {
		return stop(err, helpText("merge")+fs.Usage(), stdout, stderr)
	}
	if fs.NArg() < 1 {
		return exitCode(stderr, usagef("merge needs at least two results (files, or logs holding --jsonl lines), got 0 (see connbench merge --help)"))
	}
	if output == "" {
		return exitCode(stderr, usagef("--output: empty file name (use - for stdout)"))
	}
	if err := results.CheckWritable(output); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	srcs, err := results.ReadSources(fs.Args(), true)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(srcs) < 2 && !opt.Partial {
		return exitCode(stderr, usagef("merge needs at least two results, got %d in %d file(s) (see connbench merge --help)", len(srcs), fs.NArg()))
	}
	doc, err := results.MergeWith(srcs, opt)
	if err != nil {
		return exitCode(stderr, err)
	}
	doc.Tool = results.Tool{Name: "connbench", Version: runner.ToolVersion(), GoVersion: runtime.Version()}
	doc.Command = append([]string{"connbench", "merge"}, args...)
	if err := results.Write(output, stdout, func(w io.Writer) error { return results.Encode(w, doc) }); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	if output != "-" {
		fmt.Fprintf(stderr, "connbench: wrote %s\n", output)
	}
	return exitOK
}

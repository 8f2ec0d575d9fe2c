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
	fs.Group("Flags").StringVarP(&output, "output", "o", "-", "write the merged result to this file (- for stdout); written whole or not at all")
	if err := fs.Done().ParseArgs(args); err != nil {
		return stop(err, helpText("merge")+fs.Usage(), stdout, stderr)
	}
	if fs.NArg() < 2 {
		return exitCode(stderr, usagef("merge needs at least two result files, got %d (see connbench merge --help)", fs.NArg()))
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
	doc, err := results.Merge(srcs)
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

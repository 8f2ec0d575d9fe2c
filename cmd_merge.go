package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
	"github.com/spf13/pflag"
)

const mergeUsage = `Usage: connbench merge FILE FILE... [-o OUT]

Combines the result files of several load generators that ran the same
workload against the same target at the same time into one result, as if
one generator had made the whole load: runs are matched by label,
histograms merged exactly, counts and failures summed, rates summed over the
window all generators were measuring, and time series aligned on wall-clock
intervals. The rules are in results/SCHEMA.md ("Merged documents").

Files whose runs differ (labels, workloads or targets) are refused, and so
is one run given twice (the same file, or a copy: same host, start times,
counts and histograms), whose counts would double. Each file may be at most
512 MiB.

Examples:
  connbench merge gen1.json gen2.json -o all.json
  connbench merge gen*.json -o all.json && connbench report all.json

Flags:
`

func cmdMerge(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench merge", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var output string
	fs.StringVarP(&output, "output", "o", "-", "write the merged result to this file (- for stdout); written whole or not at all")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, mergeUsage, fs.FlagUsages())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench merge --help)", err))
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
	srcs, err := readSources(fs.Args(), true)
	if err != nil {
		return exitCode(stderr, err)
	}
	doc, err := results.Merge(srcs)
	if err != nil {
		return exitCode(stderr, err)
	}
	doc.Tool = results.Tool{Name: "connbench", Version: runner.ToolVersion(), GoVersion: runtime.Version()}
	doc.Command = append([]string{"connbench", "merge"}, args...)
	var buf bytes.Buffer
	if err := results.Encode(&buf, doc); err != nil {
		return exitCode(stderr, err)
	}
	if err := writeOutput(output, buf.Bytes(), stdout); err != nil {
		return exitCode(stderr, fmt.Errorf("--output: %w", err))
	}
	if output != "-" {
		fmt.Fprintf(stderr, "connbench: wrote %s\n", output)
	}
	return exitOK
}

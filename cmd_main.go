package main

import (
	"fmt"
	"io"

	"github.com/connbench/connbench/runner"
)

const mainUsage = `connbench measures what TCP connection setup costs you.

Usage:
%s
With no command, connbench starts its listener on 127.0.0.1 (an ephemeral
port), runs the pooled workload (-c persistent connections, request and
response in lockstep) and the per-request workload (connect, request,
response, close) for --duration each, prints them side by side with how
many times more requests per second pooling gives and what the handshake
adds at p50 and p99, and writes connbench.json (schema: results/SCHEMA.md).
`

func cmdMain(args []string, stdout, stderr io.Writer) int {
	f := newFlags("connbench")
	var s runner.Spec
	registerRun(f, &s, true)
	f.done()
	_, help, err := parseRun(f, &s, args, 0)
	if help {
		fmt.Fprintf(stdout, mainUsage, commandList())
		fmt.Fprint(stdout, f.usage(), exitCodesHelp)
		return exitOK
	}
	if err != nil {
		if f.NArg() > 0 {
			err = usagef("unexpected argument %q: to run against a server use `connbench run HOST:PORT`", f.Arg(0))
		}
		return exitCode(stderr, err)
	}
	if f.Changed("workload") {
		return exitCode(stderr, usagef("--workload: the main job compares pooled and per-request; to run one workload use `connbench run -w %s`", s.Workload))
	}
	// The main job is compare --vary workload=pooled,per-request.
	c := runner.Compare{Varies: []string{"workload=pooled,per-request"}, Repeat: 1}
	return compare(f, &s, c, nil, args, stdout, stderr)
}

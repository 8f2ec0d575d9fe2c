package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/spf13/pflag"
)

const mainUsage = `connbench measures what TCP connection setup costs you.

Usage:
  connbench [flags]                 pooled vs a new connection per request, against
                                    the built-in listener; table + connbench.json
  connbench run [flags] [HOST:PORT] one workload against a server (or the built-in listener)
  connbench serve [flags] [ADDR]    the built-in listener on its own
  connbench report FILE... [flags]  render result files: text, json, csv, hgrm, html
  connbench merge FILE... -o OUT    combine the results of several load generators
  connbench version
  connbench help COMMAND

With no command, connbench starts its listener on 127.0.0.1 (an ephemeral
port), runs the pooled workload (-c persistent connections, request and
response in lockstep) and the per-request workload (connect, request,
response, close) for --duration each, prints them side by side with how
many times more requests per second pooling gives and what the handshake
adds at p50 and p99, and writes connbench.json (schema: results/SCHEMA.md).

Flags:
`

func cmdMain(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var o runOptions
	o.register(fs, true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, mainUsage, fs.FlagUsages(), exitCodesHelp)
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench --help)", err))
	}
	if fs.NArg() > 0 {
		return exitCode(stderr, usagef("unexpected argument %q: to run against a server use `connbench run HOST:PORT`", fs.Arg(0)))
	}
	if fs.Changed("workload") {
		return exitCode(stderr, usagef("--workload: the main job compares pooled and per-request; to run one workload use `connbench run -w %s`", o.workload))
	}
	if err := o.validate(); err != nil {
		return exitCode(stderr, err)
	}
	// The main job is compare --vary workload=pooled,per-request.
	c := compareOptions{varies: []string{"workload=pooled,per-request"}, repeat: 1}
	p, err := buildPlan(fs, &o, &c, netip.AddrPort{}, true, stderr)
	if err != nil {
		return exitCode(stderr, err)
	}
	return p.execute(args, stdout, stderr)
}

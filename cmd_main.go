package main

import (
	"fmt"
	"io"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/runner"
)

func cmdMain(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench")
	var s runner.Spec
	s.DefineFlags(f.Group, true)
	f.Done()
	if _, err := parseRun(f, &s, args, 0); err != nil {
		if err != cli.ErrHelp && f.NArg() > 0 {
			err = usagef("unexpected argument %q: to run against a server use `connbench run HOST:PORT`", f.Arg(0))
		}
		return stop(err, fmt.Sprintf(helpText("main"), commandList())+f.Usage()+helpText("exit-status"), stdout, stderr)
	}
	if f.Changed("workload") {
		return exitCode(stderr, usagef("--workload: the main job compares pooled and per-request; to run one workload use `connbench run -w %s`", s.Workload))
	}
	// The main job is compare --vary workload=pooled,per-request.
	c := runner.Compare{Varies: []string{"workload=pooled,per-request"}, Repeat: 1}
	return compare(f, &s, c, nil, args, stdout, stderr)
}

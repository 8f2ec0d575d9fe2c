package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/runner"
)

// stop ends a command whose flags did not parse: help on stdout for
// --help, else the usage error.
func stop(err error, help string, stdout, stderr io.Writer) int {
	if err == cli.ErrHelp {
		fmt.Fprint(stdout, help)
		return exitOK
	}
	return exitCode(stderr, err)
}

// parseRun parses args into s by f (its run flags defined by
// s.DefineFlags) and records which flags were given; at most maxTargets
// arguments may follow.
func parseRun(f *cli.Flags, s *runner.Spec, args []string, maxTargets int) ([]string, error) {
	if err := f.ParseArgs(args); err != nil {
		return nil, err
	}
	if f.NArg() > maxTargets {
		return nil, usagef("%s takes at most one target, got %q", strings.TrimPrefix(f.Name(), "connbench "), f.Args())
	}
	s.Set = f.Given()
	return f.Args(), nil
}

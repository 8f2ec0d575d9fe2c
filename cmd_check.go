package main

import (
	"fmt"
	"io"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/runner"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench check")
	g := f.Group("Flags")
	proc := g.String("proc", "/proc", "where procfs is mounted (for tests)")
	g.MarkHidden("proc")
	if err := f.Done().ParseArgs(args); err != nil {
		return stop(err, helpText("check")+f.Usage(), stdout, stderr)
	}
	if f.NArg() > 0 {
		return exitCode(stderr, usagef("check takes no arguments, got %q", f.Args()))
	}
	items := runner.HostChecklist(*proc)
	fmt.Fprintln(stdout, "connbench check: what this host's settings mean for connection setup")
	for _, it := range items {
		mark := "ok"
		if it.Warn {
			mark = "!!"
		}
		fmt.Fprintf(stdout, "\n[%s] %s: %s\n     %s\n", mark, it.Title, it.Setting, it.Meaning)
	}
	return exitOK
}

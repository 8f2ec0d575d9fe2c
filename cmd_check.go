package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/connbench/connbench/runner"
	"github.com/spf13/pflag"
)

const checkUsage = `Usage: connbench check

Reads this host's (this network namespace's) settings that decide what
connection setup costs and when it fails, and says what they mean, with
figures: the ephemeral port range and the new-connection rate it sustains
per destination and source address, TIME_WAIT reuse, the accept and SYN
queues, SYN cookies, Fast Open, SYN retries, the open-file limit, and the
TCP sockets there are now by state.

Flags:
`

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench check", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	proc := fs.String("proc", "/proc", "where procfs is mounted (for tests)")
	fs.MarkHidden("proc")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, checkUsage, fs.FlagUsages())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench check --help)", err))
	}
	if fs.NArg() > 0 {
		return exitCode(stderr, usagef("check takes no arguments, got %q", fs.Args()))
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

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/explain"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results/view"
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
	items := explain.Checklist(kernel.ReadSysctls(*proc, append(kernel.DefaultSysctls, "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_abort_on_overflow")))
	soft, hard, err := kernel.OpenFileLimit()
	if err == nil {
		items = append(items, explain.Item{
			Title:   "open files",
			Setting: fmt.Sprintf("RLIMIT_NOFILE %s (hard %s)", view.Count(int64(soft)), view.Count(int64(hard))),
			Meaning: fmt.Sprintf("one connbench process holds at most ~%s connections (each is a descriptor; TIME_WAIT sockets are not); with the built-in listener in the same process, half that. A server here meets the same wall.", view.Count(int64(max(soft, 64)-64))),
			Warn:    hard < 65536,
		})
	}
	if s, err := kernel.NewSampler(); err == nil {
		smp, err := s.Sample(kernel.Filter{})
		s.Close()
		if err == nil {
			var parts []string
			for st := kernel.State(1); st < kernel.NumStates; st++ {
				if n := smp.States[st]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s %s", st, view.Count(int64(n))))
				}
			}
			if len(parts) == 0 {
				parts = []string{"none"}
			}
			items = append(items, explain.Item{Title: "sockets now", Setting: "all TCP sockets in this network namespace", Meaning: strings.Join(parts, ", ")})
		}
	}
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

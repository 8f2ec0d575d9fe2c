package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/connbench/connbench/runner"
)

const restoreUsage = `Usage: connbench restore [--state-file FILE]

Writes back the sysctl values that a compare run with --allow-host-sysctl
recorded before changing them, and removes the state file. Needed only when
that run could not restore them itself (it was killed).

The state file lives in /run/connbench/ (a directory only root can write,
made 0700). restore refuses a state file that is a link, a device or a FIFO,
that another user owns or others can write, that is larger than 1 MiB, or that
names anything but valid sysctls and values: all of it is checked before any
sysctl is written.
`

func cmdRestore(args []string, stdout, stderr io.Writer) int {
	f := newFlags("connbench restore")
	path := f.group("Flags").String("state-file", runner.DefaultStateFile, "the state file the compare run wrote")
	f.done()
	if err := f.Parse(args); err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprint(stdout, restoreUsage, f.usage())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench restore --help)", err))
	}
	restored, err := runner.Restore(*path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "connbench: no sysctls to restore (%s does not exist)\n", *path)
		return exitOK
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	for _, kv := range restored {
		fmt.Fprintf(stdout, "connbench: restored %s = %s\n", kv[0], kv[1])
	}
	return exitOK
}

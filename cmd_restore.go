package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/connbench/connbench/runner"
)

func cmdRestore(args []string, stdout, stderr io.Writer) int {
	f := newFlags("connbench restore")
	path := f.group("Flags").String("state-file", runner.DefaultStateFile, "the state file the compare run wrote")
	if err := f.done().parse(args); err != nil {
		return stop(err, helpText("restore")+f.usage(), stdout, stderr)
	}
	restored, err := runner.Restore(*path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "connbench: no sysctls to restore (%s does not exist)\n", *path)
		if old := runner.OldStateFile; *path == runner.DefaultStateFile {
			if _, err := os.Lstat(old); err == nil {
				fmt.Fprintf(stdout, "connbench: %s is where connbench before 0.2 kept it, in a directory anyone can write: read it, and if it is yours, connbench restore --state-file %s\n", old, old)
			}
		}
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

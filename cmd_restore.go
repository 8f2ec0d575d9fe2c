package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/runner"
)

func cmdRestore(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench restore")
	path := f.Group("Flags").String("state-file", runner.DefaultStateFile, "the state file the compare run wrote")
	if err := f.Done().ParseArgs(args); err != nil {
		return stop(err, helpText("restore")+f.Usage(), stdout, stderr)
	}
	restored, err := runner.Restore(*path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "connbench: no sysctls to restore (%s does not exist)\n", *path)
		if hint := runner.OldStateHint(*path); hint != "" {
			fmt.Fprintf(stdout, "connbench: %s\n", hint)
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

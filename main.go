// Command connbench measures what TCP connection setup costs: handshake
// latency, new-connection rates against pooled connections, port
// exhaustion, and what sysctls and socket options change. See README.md.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// version is the tool version written into every result document.
const version = "0.1.0"

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1   // the run could not be made or its output not written
	exitUsage       = 2   // bad flags or arguments
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM; partial results were written
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// usageError marks errors caused by bad input; they exit with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// commands maps subcommand names to their functions (set in init: the
// isolated child's command calls run, which reads this map).
var commands map[string]func(args []string, stdout, stderr io.Writer) int

func init() {
	commands = map[string]func(args []string, stdout, stderr io.Writer) int{
		"run":     cmdRun,
		"serve":   cmdServe,
		"version": cmdVersion,
		"restore": cmdRestore,
		"compare": cmdCompare,
		"report":  cmdReport,
		"merge":   cmdMerge,
		"check":   cmdCheck,
		// hidden: the child side of a run in a fresh network namespace
		isolatedCmd: cmdIsolated,
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] == "help" {
			if len(args) > 1 {
				if c, ok := commands[args[1]]; ok {
					return c([]string{"--help"}, stdout, stderr)
				}
			}
			return cmdMain([]string{"--help"}, stdout, stderr)
		}
		c, ok := commands[args[0]]
		if !ok {
			fmt.Fprintf(stderr, "connbench: unknown command %q (commands: run, serve, report, merge, version, help)\n", args[0])
			return exitUsage
		}
		return c(args[1:], stdout, stderr)
	}
	return cmdMain(args, stdout, stderr)
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "connbench", toolVersion())
	return exitOK
}

// toolVersion is version plus the VCS revision when the binary has one.
func toolVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

// exitCode prints err (one line, prefixed) and maps it to an exit code.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var xe exitErr
	if errors.As(err, &xe) {
		return int(xe) // a child process has printed why
	}
	fmt.Fprintf(stderr, "connbench: %s\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

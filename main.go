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
	"sort"
	"strings"
	"syscall"
)

// version is the tool version written into every result document.
const version = "0.1.0"

// Exit codes, documented in the usage text (exitCodesHelp) and README:
// each names one outcome, whatever the command.
const (
	exitOK          = 0   // success
	exitFailure     = 1   // the run failed, its output could not be written, or a check failed
	exitUsage       = 2   // bad flags, values or arguments; nothing was started
	exitInterrupted = 130 // stopped by SIGINT (128+2); partial results were written
	exitTerminated  = 143 // stopped by SIGTERM (128+15); partial results were written
)

// exitCodesHelp ends the top-level usage text.
const exitCodesHelp = `
Exit status:
  0    success
  1    the run failed, a result could not be written, or a check failed
  2    usage error: a bad command, flag, value or argument (nothing was started)
  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM, 129 by SIGHUP: the
       results so far were written, flagged partial
`

// exitForSignal is the exit code for a run ended by sig: 128 plus the
// signal's number, as shells report it (SIGINT 130, SIGTERM 143, SIGHUP 129).
func exitForSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok && s > 0 && s < 64 {
		return 128 + int(s)
	}
	return exitInterrupted
}

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

// commandNames lists the visible commands, for the unknown-command error.
func commandNames() string {
	var names []string
	for n := range commands {
		if n != isolatedCmd {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(append(names, "help"), ", ")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] == "help" {
			switch {
			case len(args) == 1:
				return cmdMain([]string{"--help"}, stdout, stderr)
			case len(args) > 2:
				return exitCode(stderr, usagef("help takes one command, got %q", args[1:]))
			}
			if c, ok := commands[args[1]]; ok && args[1] != isolatedCmd {
				return c([]string{"--help"}, stdout, stderr)
			}
			return exitCode(stderr, usagef("help %q: unknown command (commands: %s)", args[1], commandNames()))
		}
		c, ok := commands[args[0]]
		if !ok {
			return exitCode(stderr, usagef("unknown command %q (commands: %s)", args[0], commandNames()))
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

// Command connbench measures what TCP connection setup costs: handshake
// latency, new-connection rates against pooled connections, port
// exhaustion, and what sysctls and socket options change. See README.md.
//
// Package main is the command table and the flag wiring: each command
// parses its flags into a runner.Spec (or its own options), hands it to the
// runner or a results view, and maps the outcome to an exit status.
package main

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/runner"
	"github.com/connbench/connbench/threshold"
)

// Exit codes, documented in help/exit-status.txt (shown by --help) and README:
// each names one outcome, whatever the command.
const (
	exitOK          = 0   // success
	exitFailure     = 1   // the run failed, its output could not be written, or a check failed
	exitUsage       = 2   // bad flags, values or arguments; nothing was started
	exitThresholds  = 99  // a --fail-on threshold failed (as k6); the results were written
	exitInterrupted = 130 // stopped by SIGINT (128+2); partial results were written
	exitTerminated  = 143 // stopped by SIGTERM (128+15); partial results were written
)

// exitForSignal is the exit code for a run ended by sig: 128 plus the
// signal's number, as shells report it (SIGINT 130, SIGTERM 143, SIGHUP 129).
func exitForSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok && s > 0 && s < 64 {
		return 128 + int(s)
	}
	return exitInterrupted
}

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }

// command is one entry of the command table.
type command struct {
	name    string
	usage   string // how it is called, for the command list
	summary string // one line for the command list
	run     func(args []string, stdout, stderr io.Writer) int
	hidden  bool
}

// commands is the command table; `connbench help` walks it (set in init:
// the help command reads it).
var commands []command

func init() {
	commands = []command{
		{"run", "run [flags] [HOST:PORT]", "one workload against a server (or the built-in listener)", cmdRun, false},
		{"compare", "compare [HOST:PORT] --vary K=V1,V2", "variants (run flags or sysctl:NAME) side by side", cmdCompare, false},
		{"check", "check", "what this host's TCP settings mean, with figures", cmdCheck, false},
		{"serve", "serve [flags] [ADDR]", "the built-in listener on its own", cmdServe, false},
		{"report", "report FILE... [flags]", "render result files: text, json, csv, hgrm, html", cmdReport, false},
		{"merge", "merge FILE... -o OUT", "combine the results of several load generators", cmdMerge, false},
		{"restore", "restore [--state-file F]", "put back host sysctls a killed compare left changed", cmdRestore, false},
		{"version", "version", "the version", cmdVersion, false},
		{"help", "help [COMMAND]", "this list, or a command's flags", cmdHelp, false},
		{runner.ChildCommand, "", "", cmdChild, true},
	}
}

// lookup finds a command by name.
func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// commandList is the visible commands, one per line, for the usage text.
func commandList() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-38s %s\n", "connbench [flags]", "pooled vs per-request against the built-in listener")
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(&b, "  %-38s %s\n", "connbench "+c.usage, c.summary)
		}
	}
	return b.String()
}

// commandNames lists the visible commands, for the unknown-command error.
func commandNames() string {
	var names []string
	for _, c := range commands {
		if !c.hidden {
			names = append(names, c.name)
		}
	}
	return strings.Join(names, ", ")
}

// dispatch runs the command args name (the main job without one).
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return cmdMain(args, stdout, stderr)
	}
	c, ok := lookup(args[0])
	if !ok {
		return exitCode(stderr, usagef("unknown command %q (commands: %s)", args[0], commandNames()))
	}
	return c.run(args[1:], stdout, stderr)
}

func cmdHelp(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		return cmdMain([]string{"--help"}, stdout, stderr)
	case len(args) > 1:
		return exitCode(stderr, usagef("help takes one command, got %q", args))
	}
	if c, ok := lookup(args[0]); ok && !c.hidden && c.name != "help" {
		return c.run([]string{"--help"}, stdout, stderr)
	}
	return exitCode(stderr, usagef("help %q: unknown command (commands: %s)", args[0], commandNames()))
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "connbench", runner.ToolVersion())
	return exitOK
}

// usagef is a usage error: bad input, exit status 2.
func usagef(format string, a ...any) error { return runner.Usagef(format, a...) }

// exitCode prints err (one line, prefixed, terminal controls removed) and
// maps it to an exit code.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ce runner.ChildError
	if errors.As(err, &ce) {
		return ce.Status // a child process has printed why
	}
	fmt.Fprintf(stderr, "connbench: %s\n", results.PrintableText(err.Error()))
	var te *threshold.FailedError
	if errors.As(err, &te) {
		return exitThresholds
	}
	if runner.IsUsage(err) || errors.Is(err, results.ErrSameFile) {
		return exitUsage
	}
	return exitFailure
}

// helpFiles hold each command's long help: what it does, examples, what
// its output means (help/NAME.txt).
//
//go:embed help/*.txt
var helpFiles embed.FS

// helpText is help/NAME.txt.
func helpText(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("connbench: no help/" + name + ".txt") // a build without its help files
	}
	return string(b)
}

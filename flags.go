package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/runner"
	"github.com/spf13/pflag"
)

// flagGroup is a titled part of a command's flags, for --help.
type flagGroup struct {
	title string
	fs    *pflag.FlagSet
}

// flags is a command's flag set and its groups: each flag is defined in one
// group and added to the set the command parses.
type flags struct {
	*pflag.FlagSet
	groups []flagGroup
}

func newFlags(name string) *flags {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs}
}

// group starts a group of flags; define them on what it returns.
func (f *flags) group(title string) *pflag.FlagSet {
	g := pflag.NewFlagSet(title, pflag.ContinueOnError)
	f.groups = append(f.groups, flagGroup{title, g})
	return g
}

// done adds every group's flags to the set; call it once all are defined.
func (f *flags) done() *flags {
	for _, g := range f.groups {
		f.AddFlagSet(g.fs)
	}
	return f
}

// usage writes the flags group by group.
func (f *flags) usage() string {
	var b strings.Builder
	b.WriteString("\nFlags:\n")
	for _, g := range f.groups {
		if u := g.fs.FlagUsages(); u != "" && len(f.groups) == 1 {
			b.WriteString(u)
		} else if u != "" {
			fmt.Fprintf(&b, "\n  %s:\n%s", g.title, u)
		}
	}
	return b.String()
}

// given is the set of flags the user gave.
func (f *flags) given() map[string]bool {
	set := map[string]bool{}
	f.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
	return set
}

// registerRun defines the run flags on f, in groups, bound to s.
func registerRun(f *flags, s *runner.Spec, mainJob bool) { s.DefineFlags(f.group, mainJob) }

// parse parses args by f: errHelp when --help was asked, a usage error
// naming what was wrong, or nil.
func (f *flags) parse(args []string) error {
	err := f.Parse(args)
	if err == nil || err == errHelp {
		return err
	}
	msg := err.Error()
	// A typed value's own error names its flag and value already: drop
	// pflag's `invalid argument "V" for "--flag" flag: ` before it.
	if i := strings.Index(msg, " flag: --"); i >= 0 && strings.HasPrefix(msg, "invalid argument ") {
		msg = msg[i+len(" flag: "):]
	}
	return usagef("%s (see %s --help)", msg, f.Name())
}

// stop ends a command whose flags did not parse: help on stdout for
// --help, else the usage error.
func stop(err error, help string, stdout, stderr io.Writer) int {
	if err == errHelp {
		fmt.Fprint(stdout, help)
		return exitOK
	}
	return exitCode(stderr, err)
}

// parseRun parses args into s by f (made by registerRun) and records which
// flags were given; at most maxTargets arguments may follow.
func parseRun(f *flags, s *runner.Spec, args []string, maxTargets int) ([]string, error) {
	if err := f.parse(args); err != nil {
		return nil, err
	}
	if f.NArg() > maxTargets {
		return nil, usagef("%s takes at most one target, got %q", strings.TrimPrefix(f.Name(), "connbench "), f.Args())
	}
	s.Set = f.given()
	return f.Args(), nil
}

// flagArgs turns the flags set on fs, except those skip names, back into
// --name=value arguments (one per item for slice flags).
func flagArgs(fs *pflag.FlagSet, skip func(name string) bool) []string {
	var args []string
	fs.Visit(func(f *pflag.Flag) {
		if skip(f.Name) {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, item := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+item)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	return args
}

var errHelp = pflag.ErrHelp

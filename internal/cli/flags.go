// Package cli is the flag machinery the commands share: a command's flags
// in titled groups for --help, parsing whose errors are usage errors naming
// the flag, and turning given flags back into arguments (compare's
// variants, a child's command line).
package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/connbench/connbench/runner"
	"github.com/spf13/pflag"
)

// ErrHelp is what Parse returns when --help was asked.
var ErrHelp = pflag.ErrHelp

type group struct {
	title string
	fs    *pflag.FlagSet
}

// Flags is a command's flag set and its groups: each flag is defined in one
// group and added to the set the command parses.
type Flags struct {
	*pflag.FlagSet
	groups []group
}

// New is an empty flag set for the command name ("connbench run").
func New(name string) *Flags {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &Flags{FlagSet: fs}
}

// Group starts a group of flags; define them on what it returns.
func (f *Flags) Group(title string) *pflag.FlagSet {
	g := pflag.NewFlagSet(title, pflag.ContinueOnError)
	f.groups = append(f.groups, group{title, g})
	return g
}

// Done adds every group's flags to the set; call it once all are defined.
func (f *Flags) Done() *Flags {
	for _, g := range f.groups {
		f.AddFlagSet(g.fs)
	}
	return f
}

// Usage writes the flags group by group.
func (f *Flags) Usage() string {
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

// Given is the set of flags the user gave.
func (f *Flags) Given() map[string]bool {
	set := map[string]bool{}
	f.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
	return set
}

// ParseArgs parses args: ErrHelp when --help was asked, a usage error
// naming what was wrong, or nil.
func (f *Flags) ParseArgs(args []string) error {
	err := f.Parse(args)
	if err == nil || err == ErrHelp {
		return err
	}
	msg := err.Error()
	// A typed value's own error names its flag and value already: drop
	// pflag's `invalid argument "V" for "--flag" flag: ` before it.
	if i := strings.Index(msg, " flag: --"); i >= 0 && strings.HasPrefix(msg, "invalid argument ") {
		msg = msg[i+len(" flag: "):]
	}
	return runner.Usagef("%s (see %s --help)", msg, f.Name())
}

// Args turns the flags set on fs, except those skip names, back into
// --name=value arguments (one per item for slice flags).
func Args(fs *pflag.FlagSet, skip func(name string) bool) []string {
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

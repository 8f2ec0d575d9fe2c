package kube

import (
	"time"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/runner"
)

// Main is `connbench kube job ARGS`: it parses the run flags and the job's
// own (args[0] must be "job"), and returns the Job's JSON for a run made at
// now + --lead. With an error (cli.ErrHelp for --help) it returns the
// flags' help text for the caller to show.
func Main(args []string, now time.Time) (job []byte, usage string, err error) {
	f, s, o := flags()
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		return nil, f.Usage(), cli.ErrHelp
	}
	if len(args) == 0 || args[0] != "job" {
		return nil, f.Usage(), runner.Usagef("kube: want `connbench kube job [run flags] --segments N --image IMAGE --target HOST:PORT` (see connbench kube job --help)")
	}
	if err := f.ParseArgs(args[1:]); err != nil {
		return nil, f.Usage(), err
	}
	if f.NArg() > 0 {
		return nil, f.Usage(), runner.Usagef("kube job takes no argument: the target is --target HOST:PORT, got %q", f.Args())
	}
	s.Set = f.Given()
	job, _, err = o.Job(s, cli.Args(f.FlagSet, Skip), now)
	return job, f.Usage(), err
}

// flags is kube job's flag set: the run flags bound to a Spec, and the
// job's own bound to Options.
func flags() (*cli.Flags, *runner.Spec, *Options) {
	f := cli.New("connbench kube job")
	var s runner.Spec
	s.DefineFlags(f.Group, false)
	var o Options
	o.DefineFlags(f.Group)
	f.Done()
	return f, &s, &o
}

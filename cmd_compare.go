package main

import (
	"io"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/metrics"
	"github.com/connbench/connbench/runner"
)

// compareOnly are compare's own flags; the rest are run flags.
var compareOnly = map[string]bool{"vary": true, "repeat": true, "yes": true, "allow-host-sysctl": true, "state-file": true, "no-isolate": true}

// notVariable are run flags that belong to the whole comparison.
var notVariable = map[string]bool{"output": true, "quiet": true, "cpuprofile": true, "no-check": true, "hlog": true, "hgrm": true, "raise-limits": true, "start-at": true, "procs": true, "fail-on": true, "junit": true, "metrics-addr": true, "metrics-linger": true}

func cmdCompare(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench compare")
	var s runner.Spec
	s.DefineFlags(f.Group, false)
	var c runner.Compare
	c.DefineFlags(f.Group)
	f.Done()
	rest, err := parseRun(f, &s, args, 1)
	if err != nil {
		return stop(err, helpText("compare")+f.Usage()+helpText("thresholds")+helpText("exit-status"), stdout, stderr)
	}
	if len(c.Varies) == 0 {
		return exitCode(stderr, usagef("compare needs at least one --vary KEY=V1,V2 (see connbench compare --help)"))
	}
	return compare(f, &s, c, rest, append([]string{"compare"}, args...), stdout, stderr)
}

// compare runs the variants of c: each is the run flags given on f with the
// variant's settings applied, parsed and validated like a run of its own.
func compare(f *cli.Flags, s *runner.Spec, c runner.Compare, rest, argv []string, stdout, stderr io.Writer) int {
	target, err := parseSpec(s, rest)
	if err != nil {
		return exitCode(stderr, err)
	}
	base := cli.Args(f.FlagSet, func(name string) bool { return compareOnly[name] })
	variant := func(settings [][2]string) (*runner.Spec, error) {
		vf := cli.New("variant")
		v := &runner.Spec{}
		v.DefineFlags(vf.Group, s.MainJob)
		vf.Done()
		args := append([]string{}, base...)
		for _, kv := range settings {
			args = append(args, "--"+kv[0]+"="+kv[1])
		}
		if _, err := parseRun(vf, v, args, 0); err != nil {
			return nil, err
		}
		if v.Request == s.Request {
			v.Payload = s.Payload // read once, not once per variant
		}
		if err := v.Validate(); err != nil {
			return nil, err
		}
		return v, v.CheckTarget(target)
	}
	isRunFlag := func(key string) bool {
		return f.Lookup(key) != nil && !compareOnly[key] && !notVariable[key]
	}
	p, err := runner.ComparePlan(c, s, target, isRunFlag, variant, argv, stderr)
	if err != nil {
		return exitCode(stderr, err)
	}
	obs := runner.NewText(stderr, s.Quiet)
	ctx, stop := runner.SignalContext()
	defer stop()
	m, err := metrics.Serve(ctx, s, p, obs)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer m.Close()
	doc, err := p.Run(ctx, m.Observer(obs))
	return finish(ctx, doc, err, s, stdout, stderr)
}

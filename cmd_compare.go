package main

import (
	"fmt"
	"io"

	"github.com/connbench/connbench/runner"
)

const compareUsage = `Usage: connbench compare [HOST:PORT] --vary KEY=V1,V2[,...] [--vary ...] [flags]

Runs every combination of the --vary values with the same workload flags and
prints them side by side: rate, latency per phase, failures by class,
TIME_WAIT peak and kernel counters, each against the first variant (the
baseline) in %, with a one-line verdict. With --repeat N every variant runs
N times, interleaved (A B A B ...), and the table shows medians with their
min–max spread, so a difference smaller than the noise is called so.

KEY is any run flag (workload, concurrency, nodelay, close, rate, source,
response-size, ...) or sysctl:NAME. Against the built-in listener (no
HOST:PORT) each run is made in a fresh network namespace when connbench
runs as root: sysctls are set there only (the host is never touched) and no
TIME_WAIT or Fast Open cookie leaks from one variant to the next. Sysctl
variants against an external target change the host itself and need
--allow-host-sysctl.

Examples:
  connbench compare --vary workload=pooled,per-request
  connbench compare -w churn --rate 2000 -d 20s --vary sysctl:net.ipv4.tcp_tw_reuse=0,1
  connbench compare -w per-request --vary close=fin,rst --repeat 3
  connbench compare -w churn --rate 500 -d 10s --vary sysctl:net.ipv4.ip_local_port_range="40000 40100","32768 60999"
`

// compareOnly are compare's own flags; the rest are run flags.
var compareOnly = map[string]bool{"vary": true, "repeat": true, "yes": true, "allow-host-sysctl": true, "state-file": true, "no-isolate": true}

// notVariable are run flags that belong to the whole comparison.
var notVariable = map[string]bool{"output": true, "quiet": true, "cpuprofile": true, "no-check": true, "hlog": true, "hgrm": true, "raise-limits": true, "start-at": true, "procs": true}

func registerCompare(f *flags, c *runner.Compare) {
	g := f.group("Comparison")
	g.StringArrayVar(&c.Varies, "vary", nil, "KEY=V1,V2,...: a run flag or sysctl:NAME and its values (repeatable; the product of all is run)")
	g.IntVar(&c.Repeat, "repeat", 1, "run each variant N times, interleaved, and report medians with min–max")
	g.BoolVar(&c.Yes, "yes", false, "allow more than 64 variants")
	g.BoolVar(&c.AllowHost, "allow-host-sysctl", false, "against an external target: set sysctl variants on this host (restored after the run, on Ctrl-C, or by connbench restore)")
	g.StringVar(&c.StateFile, "state-file", runner.DefaultStateFile, "where --allow-host-sysctl saves the original values")
	g.BoolVar(&c.NoIsolate, "no-isolate", false, "run in this process even as root (no fresh network namespace per run; sysctl variants then impossible)")
}

func cmdCompare(args []string, stdout, stderr io.Writer) int {
	f := newFlags("connbench compare")
	var s runner.Spec
	registerRun(f, &s, false)
	var c runner.Compare
	registerCompare(f, &c)
	f.done()
	rest, help, err := parseRun(f, &s, args, 1)
	if help {
		fmt.Fprint(stdout, compareUsage, f.usage(), exitCodesHelp)
		return exitOK
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(c.Varies) == 0 {
		return exitCode(stderr, usagef("compare needs at least one --vary KEY=V1,V2 (see connbench compare --help)"))
	}
	return compare(f, &s, c, rest, append([]string{"compare"}, args...), stdout, stderr)
}

// compare runs the variants of c: each is the run flags given on f with the
// variant's settings applied, parsed and validated like a run of its own.
func compare(f *flags, s *runner.Spec, c runner.Compare, rest, argv []string, stdout, stderr io.Writer) int {
	target, err := parseSpec(s, rest)
	if err != nil {
		return exitCode(stderr, err)
	}
	base := flagArgs(f.FlagSet, func(name string) bool { return compareOnly[name] })
	variant := func(settings [][2]string) (*runner.Spec, error) {
		vf := newFlags("variant")
		v := &runner.Spec{}
		registerRun(vf, v, s.MainJob)
		vf.done()
		args := append([]string{}, base...)
		for _, kv := range settings {
			args = append(args, "--"+kv[0]+"="+kv[1])
		}
		if _, _, err := parseRun(vf, v, args, 0); err != nil {
			return nil, err
		}
		if err := v.Validate(); err != nil {
			return nil, err
		}
		return v, v.CheckTarget(target)
	}
	isRunFlag := func(key string) bool {
		return f.Lookup(key) != nil && !compareOnly[key] && !notVariable[key]
	}
	p, err := runner.ComparePlan(c, target, isRunFlag, variant, argv, stderr)
	if err != nil {
		return exitCode(stderr, err)
	}
	obs := runner.NewText(stderr, s.Quiet)
	ctx, stop := runner.SignalContext()
	defer stop()
	doc, err := p.Run(ctx, obs)
	return finish(ctx, doc, err, s, stdout, stderr)
}

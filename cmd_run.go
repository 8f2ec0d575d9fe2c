package main

import (
	"io"
	"net/netip"

	"github.com/connbench/connbench/internal/cli"
	"github.com/connbench/connbench/metrics"
	"github.com/connbench/connbench/runner"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	f := cli.New("connbench run")
	var s runner.Spec
	s.DefineFlags(f.Group, false)
	f.Done()
	rest, err := parseRun(f, &s, args, 1)
	if err != nil {
		return stop(err, helpText("run")+f.Usage()+helpText("thresholds")+helpText("exit-status"), stdout, stderr)
	}
	target, err := parseSpec(&s, rest)
	if err != nil {
		return exitCode(stderr, err)
	}
	ctx, stop := runner.SignalContext() // before NewPlan, which may raise limits
	defer stop()
	obs := runner.NewText(stderr, s.Quiet)
	p, err := runner.NewPlan(&s, target, append([]string{"run"}, args...), obs)
	if err != nil {
		return exitCode(stderr, err)
	}
	p.Stderr = stderr
	m, err := metrics.Serve(ctx, &s, p, obs)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer m.Close() // after finish: the result is written before a last scrape
	doc, err := p.Run(ctx, m.Observer(obs))
	return finish(ctx, doc, err, &s, stdout, stderr)
}

// parseSpec validates s and the target in rest (none: the built-in
// listener), and the flags that depend on the target.
func parseSpec(s *runner.Spec, rest []string) (netip.AddrPort, error) {
	if err := s.Validate(); err != nil {
		return netip.AddrPort{}, err
	}
	var target netip.AddrPort
	if len(rest) == 1 {
		t, err := runner.ParseTarget(rest[0])
		if err != nil {
			return target, err
		}
		target = t
	}
	return target, s.CheckTarget(target)
}

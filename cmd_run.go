package main

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/connbench/connbench/runner"
)

const runUsage = `Usage: connbench run [flags] [HOST:PORT]

Runs one workload against HOST:PORT, or against the built-in listener
(started on 127.0.0.1 with an ephemeral port) when no target is given,
prints a table and, with -o, writes the JSON result.

Examples:
  connbench run -w per-request -c 64 -d 10s 127.0.0.1:8080
  connbench run -w pooled -c 100 --nodelay 127.0.0.1:6379 --request-size 14 --response-size 7
  connbench run -w pooled --protocol http --path /index.html -c 100 127.0.0.1:80
  connbench run -w per-request --protocol http --response-size 1024      (built-in listener, HTTP mode)
  connbench run -w pooled --protocol redis --command "SET k v" 127.0.0.1:6379
  connbench run -w pooled --protocol memcached --command "get k" 127.0.0.1:11211
  connbench run -w connect --close rst -o cc.json
  connbench run -w per-request --source 127.0.0.2-127.0.0.50
  connbench run -w churn --rate 2000 --until-exhausted -d 60s
  connbench run -w per-request --rate 100:5000 -d 30s 127.0.0.1:8080
`

func cmdRun(args []string, stdout, stderr io.Writer) int {
	f := newFlags("connbench run")
	var s runner.Spec
	registerRun(f, &s, false)
	f.done()
	rest, help, err := parseRun(f, &s, args, 1)
	if help {
		fmt.Fprint(stdout, runUsage, f.usage(), exitCodesHelp)
		return exitOK
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	target, err := parseSpec(&s, rest)
	if err != nil {
		return exitCode(stderr, err)
	}
	obs := runner.NewText(stderr, s.Quiet)
	argv := append([]string{"run"}, args...)
	p, err := runner.NewPlan(&s, target, argv, obs)
	if err != nil {
		return exitCode(stderr, err)
	}
	p.Stderr = stderr
	ctx, stop := runner.SignalContext()
	defer stop()
	doc, err := p.Run(ctx, obs)
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

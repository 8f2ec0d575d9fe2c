package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/connbench/connbench/kernel"
	"github.com/spf13/pflag"
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

Flags:
`

// maxRepeat bounds --repeat: each repeat is a whole run of every variant.
const maxRepeat = 1000

// compareOnly are compare's own flags; the rest are run flags.
var compareOnly = map[string]bool{"vary": true, "repeat": true, "yes": true, "allow-host-sysctl": true, "state-file": true, "no-isolate": true}

// notVariable are run flags that belong to the whole comparison.
var notVariable = map[string]bool{"output": true, "quiet": true, "cpuprofile": true, "child": true, "no-check": true, "hlog": true, "hgrm": true, "raise-limits": true, "start-at": true, "procs": true}

type compareOptions struct {
	varies    []string
	repeat    int
	yes       bool
	allowHost bool
	stateFile string
	noIsolate bool
}

func (c *compareOptions) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.varies, "vary", nil, "KEY=V1,V2,...: a run flag or sysctl:NAME and its values (repeatable; the product of all is run)")
	fs.IntVar(&c.repeat, "repeat", 1, "run each variant N times, interleaved, and report medians with min–max")
	fs.BoolVar(&c.yes, "yes", false, "allow more than 64 variants")
	fs.BoolVar(&c.allowHost, "allow-host-sysctl", false, "against an external target: set sysctl variants on this host (restored after the run, on Ctrl-C, or by connbench restore)")
	fs.StringVar(&c.stateFile, "state-file", defaultStateFile, "where --allow-host-sysctl saves the original values")
	fs.BoolVar(&c.noIsolate, "no-isolate", false, "run in this process even as root (no fresh network namespace per run; sysctl variants then impossible)")
}

func cmdCompare(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("connbench compare", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var o runOptions
	o.register(fs, false)
	var c compareOptions
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, compareUsage, fs.FlagUsages())
			return exitOK
		}
		return exitCode(stderr, usagef("%v (see connbench compare --help)", err))
	}
	if len(c.varies) == 0 {
		return exitCode(stderr, usagef("compare needs at least one --vary KEY=V1,V2 (see connbench compare --help)"))
	}
	if fs.NArg() > 1 {
		return exitCode(stderr, usagef("compare takes at most one target, got %q", fs.Args()))
	}
	var target netip.AddrPort
	if fs.NArg() == 1 {
		t, err := parseTarget(fs.Arg(0))
		if err != nil {
			return exitCode(stderr, err)
		}
		target = t
	}
	if err := o.validate(); err != nil {
		return exitCode(stderr, err)
	}
	if err := o.checkTarget(target); err != nil {
		return exitCode(stderr, err)
	}
	p, err := buildPlan(fs, &o, &c, target, false, stderr)
	if err != nil {
		return exitCode(stderr, err)
	}
	return p.execute(append([]string{"compare"}, args...), stdout, stderr)
}

// setting is one key and value of a variant.
type setting = [2]string

// buildPlan expands the --vary product into variants, each parsed and
// validated like a `connbench run` of its own, before anything runs.
func buildPlan(fs *pflag.FlagSet, o *runOptions, c *compareOptions, target netip.AddrPort, mainJob bool, stderr io.Writer) (*plan, error) {
	if c.repeat < 1 || c.repeat > maxRepeat {
		return nil, usagef("--repeat %d: want 1 to %d", c.repeat, maxRepeat)
	}
	base := runArgs(fs)
	keys := map[string]bool{}
	var dims [][]setting
	product := 1
	for _, spec := range c.varies {
		key, list, ok := strings.Cut(spec, "=")
		key = strings.TrimPrefix(strings.TrimSpace(key), "--")
		if !ok || key == "" {
			return nil, usagef("--vary %q: want KEY=V1,V2,... (e.g. --vary close=fin,rst)", spec)
		}
		if keys[key] {
			return nil, usagef("--vary %q: %s is varied twice", spec, key)
		}
		keys[key] = true
		var vals []string
		for _, v := range splitValues(list) {
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			return nil, usagef("--vary %q: no values", spec)
		}
		if name, isSysctl := strings.CutPrefix(key, "sysctl:"); isSysctl {
			if err := kernel.CheckSysctlName(name); err != nil {
				return nil, usagef("--vary sysctl:%v", err)
			}
			for _, v := range vals {
				if err := kernel.CheckSysctlValue(v); err != nil {
					return nil, usagef("--vary sysctl:%s: %v", name, err)
				}
			}
			if _, err := kernel.ReadSysctl("", name); err != nil {
				return nil, usagef("--vary %q: unknown sysctl %s (%v)", spec, name, err)
			}
		} else {
			f := fs.Lookup(key)
			if f == nil || compareOnly[key] || notVariable[key] {
				return nil, usagef("--vary %q: %s is not a run flag that can vary (see connbench run --help)", spec, key)
			}
		}
		var dim []setting
		for _, v := range vals {
			dim = append(dim, setting{key, v})
		}
		dims = append(dims, dim)
		product *= len(vals)
	}
	if product > 64 && !c.yes {
		return nil, usagef("--vary %s: %d variants; more than 64 needs --yes", strings.Join(c.varies, " --vary "), product)
	}
	p := &plan{target: target, repeat: c.repeat, output: o.output, quiet: o.quiet, child: o.child, profile: o.cpuProfile, hlog: o.hlog, hgrm: o.hgrm}
	hasSysctl := false
	for _, combo := range cartesian(dims) {
		v := variant{settings: combo, sysctls: map[string]string{}}
		var labels []string
		v.args = append([]string{}, base...)
		for _, kv := range combo {
			if name, ok := strings.CutPrefix(kv[0], "sysctl:"); ok {
				v.sysctls[name] = kv[1]
				hasSysctl = true
			} else {
				v.args = append(v.args, "--"+kv[0]+"="+kv[1])
			}
			labels = append(labels, labelOf(kv, dims))
		}
		v.label = strings.Join(nonEmpty(labels), ", ")
		vfs := pflag.NewFlagSet("variant", pflag.ContinueOnError)
		vfs.SetOutput(io.Discard)
		vo := &runOptions{}
		vo.register(vfs, mainJob) // the main job's defaults (5 s, connbench.json)
		if err := vfs.Parse(v.args); err != nil {
			return nil, usagef("--vary %s: %v", v.label, err)
		}
		if err := vo.validate(); err != nil {
			return nil, usagef("--vary %s: %v", v.label, err)
		}
		v.opts = vo
		p.variants = append(p.variants, v)
	}
	builtin := !target.IsValid()
	switch {
	case builtin && hasSysctl && (c.noIsolate || !canIsolate()):
		why := "connbench is not root"
		if c.noIsolate {
			why = "--no-isolate was given"
		}
		return nil, usagef("--vary sysctl:...: each sysctl variant runs in its own network namespace, which needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), and %s; without the sysctl --vary the same comparison runs unprivileged", why)
	case builtin:
		p.isolate = canIsolate() && !c.noIsolate
	case hasSysctl && !c.allowHost:
		return nil, usagef("--vary sysctl:... against %s would change this host's sysctls: add --allow-host-sysctl (the originals are saved to --state-file and restored after the last variant, on Ctrl-C, or by connbench restore)", target)
	case hasSysctl:
		var names []string
		for k := range keys {
			if n, ok := strings.CutPrefix(k, "sysctl:"); ok {
				names = append(names, n)
			}
		}
		p.host = newHostSysctls(c.stateFile, names)
	}
	if p.isolate && hasSysctl {
		// Try every variant's sysctls in a throwaway namespace first, so
		// a value the kernel refuses stops the comparison before it runs.
		for _, v := range p.variants {
			ir := isolatedRun{sysctls: v.sysctls, check: true}
			if _, code, err := ir.exec(context.Background(), stderr); err != nil || code != exitOK {
				if err != nil {
					return nil, err
				}
				return nil, exitErr(code)
			}
		}
	}
	return p, nil
}

// exitErr carries a child's exit code whose message is already printed.
type exitErr int

func (e exitErr) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// splitValues splits V1,V2,...; a value may be quoted to hold commas or
// spaces ("40000 40100").
func splitValues(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	flush := func() {
		v := strings.TrimSpace(cur.String())
		v = strings.Trim(v, `"'`)
		if v != "" {
			out = append(out, v)
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case r == '"' || r == '\'':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

func cartesian(dims [][]setting) [][]setting {
	out := [][]setting{nil}
	for _, d := range dims {
		var next [][]setting
		for _, prefix := range out {
			for _, s := range d {
				combo := append(append([]setting{}, prefix...), s)
				next = append(next, combo)
			}
		}
		out = next
	}
	return out
}

// runArgs turns the run flags set on fs back into arguments, for the
// variants and for isolated children.
func runArgs(fs *pflag.FlagSet) []string {
	return flagArgs(fs, func(name string) bool { return compareOnly[name] || notVariable[name] })
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

// labelOf names a setting in a variant's label: only keys that take more
// than one value, the workload by its name alone, and sysctls by their last
// name component (ip_local_port_range=40000 40499).
func labelOf(kv setting, dims [][]setting) string {
	for _, d := range dims {
		if d[0][0] == kv[0] && len(d) == 1 && len(dims) > 1 {
			return ""
		}
	}
	if kv[0] == "workload" {
		return kv[1]
	}
	key := kv[0]
	if name, ok := strings.CutPrefix(key, "sysctl:"); ok {
		key = name[strings.LastIndex(name, ".")+1:]
	}
	return key + "=" + kv[1]
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

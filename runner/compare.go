package runner

import (
	"context"
	"io"
	"net/netip"
	"strings"

	"github.com/connbench/connbench/kernel"
)

// setting is one key and value of a variant.
type setting = [2]string

// Compare is what compare asks for beyond the run flags.
type Compare struct {
	Varies    []string // --vary KEY=V1,V2,...: a run flag or sysctl:NAME
	Repeat    int      // --repeat
	Yes       bool     // --yes: more than 64 variants
	AllowHost bool     // --allow-host-sysctl
	StateFile string   // --state-file
	NoIsolate bool     // --no-isolate
}

// MaxRepeat bounds --repeat: each repeat is a whole run of every variant.
const MaxRepeat = 1000

// VariantSpec makes the validated Spec of one variant: the comparison's run
// flags with the variant's settings (flag name, value) applied; sysctl:
// settings are not among them. A bad value is a usage error naming it.
type VariantSpec func(settings [][2]string) (*Spec, error)

// ComparePlan expands the --vary product into variants, each made and
// validated like a run of its own by variant from base's flags, before
// anything runs.
// isRunFlag says whether a key is a run flag that may vary.
func ComparePlan(c Compare, base *Spec, target netip.AddrPort, isRunFlag func(string) bool, variant VariantSpec, argv []string, stderr io.Writer) (*Plan, error) {
	if c.Repeat < 1 || c.Repeat > MaxRepeat {
		return nil, Usagef("--repeat %d: want 1 to %d", c.Repeat, MaxRepeat)
	}
	if err := base.checkThresholdPlan(true); err != nil {
		return nil, err
	}
	for _, n := range []string{"procs", "raise-limits"} {
		if base.Set[n] {
			return nil, Usagef("--%s is for connbench run: compare runs each variant in one process", n)
		}
	}
	keys := map[string]bool{}
	var dims [][]setting
	product := 1
	for _, spec := range c.Varies {
		key, list, ok := strings.Cut(spec, "=")
		key = strings.TrimPrefix(strings.TrimSpace(key), "--")
		if !ok || key == "" {
			return nil, Usagef("--vary %q: want KEY=V1,V2,... (e.g. --vary close=fin,rst)", spec)
		}
		if keys[key] {
			return nil, Usagef("--vary %q: %s is varied twice", spec, key)
		}
		keys[key] = true
		var vals []string
		for _, v := range splitValues(list) {
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			return nil, Usagef("--vary %q: no values", spec)
		}
		if name, isSysctl := strings.CutPrefix(key, "sysctl:"); isSysctl {
			if err := kernel.CheckSysctlName(name); err != nil {
				return nil, Usagef("--vary sysctl:%v", err)
			}
			for _, v := range vals {
				if err := kernel.CheckSysctlValue(v); err != nil {
					return nil, Usagef("--vary sysctl:%s: %v", name, err)
				}
			}
			if _, err := kernel.ReadSysctl("", name); err != nil {
				return nil, Usagef("--vary %q: unknown sysctl %s (%v)", spec, name, err)
			}
		} else {
			if !isRunFlag(key) {
				return nil, Usagef("--vary %q: %s is not a run flag that can vary (see connbench run --help)", spec, key)
			}
		}
		var dim []setting
		for _, v := range vals {
			dim = append(dim, setting{key, v})
		}
		dims = append(dims, dim)
		product *= len(vals)
	}
	if product > 64 && !c.Yes {
		return nil, Usagef("--vary %s: %d variants; more than 64 needs --yes", strings.Join(c.Varies, " --vary "), product)
	}
	p := &Plan{Target: target, Repeat: c.Repeat, Argv: argv, Stderr: stderr}
	hasSysctl := false
	for _, combo := range cartesian(dims) {
		v := Variant{Settings: combo, Sysctls: map[string]string{}}
		var flags [][2]string
		var names []string
		for _, kv := range combo {
			if name, ok := strings.CutPrefix(kv[0], "sysctl:"); ok {
				v.Sysctls[name] = kv[1]
				hasSysctl = true
			} else {
				flags = append(flags, kv)
			}
			names = append(names, labelOf(kv, dims))
		}
		v.Label = strings.Join(nonEmpty(names), ", ")
		spec, err := variant(flags)
		if err != nil {
			return nil, Usagef("--vary %s: %v", v.Label, err)
		}
		v.Spec = spec
		p.Variants = append(p.Variants, v)
	}
	if err := base.checkRegressionVariants(len(p.Variants)); err != nil {
		return nil, err
	}
	builtin := !target.IsValid()
	switch {
	case builtin && hasSysctl && (c.NoIsolate || !CanIsolate()):
		why := "connbench is not root"
		if c.NoIsolate {
			why = "--no-isolate was given"
		}
		return nil, Usagef("--vary sysctl:...: each sysctl variant runs in its own network namespace, which needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), and %s; without the sysctl --vary the same comparison runs unprivileged", why)
	case builtin:
		p.Isolate = CanIsolate() && !c.NoIsolate
	case hasSysctl && !c.AllowHost:
		return nil, Usagef("--vary sysctl:... against %s would change this host's sysctls: add --allow-host-sysctl (the originals are saved to --state-file and restored after the last variant, on Ctrl-C, or by connbench restore)", target)
	case hasSysctl:
		var names []string
		for k := range keys {
			if n, ok := strings.CutPrefix(k, "sysctl:"); ok {
				names = append(names, n)
			}
		}
		p.host = newHostSysctls(c.StateFile, names)
	}
	if p.Isolate && hasSysctl {
		// Try every variant's sysctls in a throwaway namespace first, so
		// a value the kernel refuses stops the comparison before it runs.
		for _, v := range p.Variants {
			if _, err := (isolated{spec: v.Spec, sysctls: v.Sysctls, check: true}).run(context.Background(), stderr); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

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

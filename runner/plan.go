package runner

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/connbench/connbench/explain"
	"github.com/connbench/connbench/kernel"
	"github.com/connbench/connbench/results"
)

// Plan is a set of runs: each variant Repeat times, interleaved (A B A B),
// made in this process, each in a fresh network namespace (Isolate), or
// over several processes (a single variant whose Spec asks for --procs).
type Plan struct {
	Target   netip.AddrPort // zero: the built-in listener
	Variants []Variant
	Repeat   int
	Isolate  bool         // each run in a fresh network namespace
	host     *hostSysctls // sysctl variants applied on this host (external target)
	Argv     []string     // the command line, recorded in the document
	Stderr   io.Writer    // where child processes write what they have to say
}

// Variant is one configuration of a plan.
type Variant struct {
	Label    string
	Settings [][2]string       // the varied keys and values, as given to --vary
	Spec     *Spec             // validated
	Sysctls  map[string]string // its sysctl: settings
}

// NewPlan is the plan of one run of s toward target (zero: the built-in
// listener): in this process, or split over processes when s asks for
// --procs (or needs more descriptors than one process may have and asks
// for auto). obs hears what was decided.
func NewPlan(s *Spec, target netip.AddrPort, argv []string, obs Observer) (*Plan, error) {
	if err := s.takeSegment(); err != nil {
		return nil, err
	}
	if err := s.planProcs(target, obs); err != nil {
		return nil, err
	}
	if err := s.checkThresholdPlan(false); err != nil {
		return nil, err
	}
	return &Plan{Target: target, Repeat: 1, Argv: argv, Variants: []Variant{{Label: s.Workload, Spec: s}}}, nil
}

// spec is the spec whose whole-plan settings (outputs, start, quiet) apply.
func (p *Plan) spec() *Spec { return p.Variants[0].Spec }

// Run makes the plan's runs and returns their document. A run stopped by
// ctx (a signal) is in the document, which is then flagged partial; an
// error with a non-nil document (children of a --procs run lost) still
// leaves a document worth writing.
func (p *Plan) Run(ctx context.Context, obs Observer) (*results.Document, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	s := p.spec()
	if s.CPUProfile != "" {
		// As root: never through a link, never into a device.
		if fi, err := os.Lstat(s.CPUProfile); err == nil && !fi.Mode().IsRegular() {
			return nil, Usagef("--cpuprofile %s: not a regular file", s.CPUProfile)
		}
		f, err := os.OpenFile(s.CPUProfile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
		if err != nil {
			return nil, Usagef("--cpuprofile: %v", err)
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if s.MemProfile != "" {
		if fi, err := os.Lstat(s.MemProfile); err == nil && !fi.Mode().IsRegular() {
			return nil, Usagef("--memprofile %s: not a regular file", s.MemProfile)
		}
	}
	if s.procsN > 1 {
		return p.runProcs(ctx, obs)
	}
	if p.host != nil {
		if err := p.host.begin(); err != nil {
			return nil, err
		}
		defer func() {
			if err := p.host.restore(); err != nil {
				obs.Warn("%v", err)
			}
		}()
	}
	var late time.Duration
	if start := s.start; !start.IsZero() {
		obs.Say("waiting until %s to start", start.Format(time.RFC3339Nano))
		select {
		case <-time.After(time.Until(start)):
		case <-ctx.Done():
		}
		late = time.Since(start)
	}
	doc := newDocument(p.Argv)
	s.stamp(doc)
	if ctx.Err() != nil {
		// Stopped before the start: a document with no runs, flagged
		// partial, still says so (and lets a --procs parent merge).
		doc.Partial = true
		doc.Runs = []results.Run{}
	}
	total, n := p.Repeat*len(p.Variants), 0
	for rep := 1; rep <= p.Repeat && !doc.Partial; rep++ {
		for vi := range p.Variants {
			v := &p.Variants[vi]
			if ctx.Err() != nil {
				doc.Partial = true // stopped between runs: none is started
				break
			}
			n++
			if total > 1 {
				obs.Say("[%d/%d] %s", n, total, v.Label)
			}
			run, partial, err := p.runVariant(ctx, v, doc, obs)
			if err != nil && ctx.Err() != nil {
				doc.Partial = true // a child stopped as it started: the runs made so far stand
				break
			}
			if err != nil {
				if len(doc.Runs) > 0 {
					doc.Partial = true
					return doc, err // the runs made so far are written, then the error
				}
				return nil, err
			}
			run.Label = v.Label
			if p.Repeat > 1 {
				run.Repetition = rep
			}
			if len(v.Settings) > 0 {
				run.Settings = map[string]string{}
				for _, kv := range v.Settings {
					run.Settings[kv[0]] = kv[1]
				}
			}
			doc.Runs = append(doc.Runs, run)
			if partial {
				doc.Partial = true
				break
			}
		}
	}
	if p.host != nil {
		doc.Sysctls = p.host.original()
	}
	doc.CurveNotes = explain.CurveNotes(doc)
	if note := s.lateNote(late); note != "" {
		obs.Warn("%s", note)
		for i := range doc.Runs {
			doc.Runs[i].Notes = append(doc.Runs[i].Notes, note)
		}
	}
	return doc, nil
}

// check fails before any load when an output cannot be written, the run
// needs more descriptors than this process may have, or an external
// target does not answer.
func (p *Plan) check() error {
	s := p.spec()
	if s.Output != "" && s.Output != "-" {
		if err := results.CheckWritable(s.Output); err != nil {
			return fmt.Errorf("--output %s", err)
		}
	}
	if err := checkHistogramFiles(s.HLog, s.HGrm); err != nil {
		return err
	}
	builtin := !p.Target.IsValid()
	if !p.Isolate && s.procsN <= 1 {
		for i := range p.Variants {
			if err := checkDescriptors(p.Variants[i].Spec, builtin); err != nil {
				return err
			}
		}
	}
	if !builtin && !s.NoCheck {
		if err := checkTarget(p.Target, s.ConnectTimeout); err != nil {
			return err
		}
	}
	return nil
}

// runVariant makes one run of v: in a fresh network namespace (a child
// process), or here with v's sysctls applied to the host if it has any.
func (p *Plan) runVariant(ctx context.Context, v *Variant, doc *results.Document, obs Observer) (results.Run, bool, error) {
	if p.Isolate {
		child, err := isolated{spec: v.Spec, base: namespaceBase(doc.Sysctls), sysctls: v.Sysctls, obs: obs, label: v.Label}.run(ctx, p.Stderr)
		if err != nil {
			return results.Run{}, false, err
		}
		run := child.Runs[0]
		run.Sysctls = child.Sysctls
		return run, child.Partial, nil
	}
	if p.host != nil {
		if err := p.host.apply(v.Sysctls); err != nil {
			return results.Run{}, false, err
		}
		doc.Sysctls = kernel.ReadSysctls("", kernel.DefaultSysctls)
	}
	run, partial, err := measure(ctx, v.Spec, p.Target, doc.Sysctls, obs)
	if err == nil && p.host != nil {
		run.Sysctls = doc.Sysctls
	}
	return run, partial, err
}

// checkHistogramFiles checks that --hlog and --hgrm can be written before
// any load is run, and that they name two files.
func checkHistogramFiles(hlog, hgrm string) error {
	for _, f := range [][2]string{{"--hlog", hlog}, {"--hgrm", hgrm}} {
		if f[1] == "-" {
			return Usagef("%s -: stdout is for the table or -o -; name a file (or /dev/stdout)", f[0])
		}
	}
	if err := results.CheckOutputs(map[string]string{"--hlog": hlog, "--hgrm": hgrm}); err != nil {
		return Usagef("%v", err)
	}
	if hlog != "" {
		if err := results.CheckWritable(hlog); err != nil {
			return fmt.Errorf("--hlog %s", err)
		}
	}
	if hgrm != "" {
		if err := results.CheckWritable(hgrm); err != nil {
			return fmt.Errorf("--hgrm %s", err)
		}
	}
	return nil
}

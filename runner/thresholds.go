package runner

import (
	"fmt"
	"io"

	"github.com/connbench/connbench/results"
	"github.com/connbench/connbench/results/view"
	"github.com/connbench/connbench/threshold"
	"github.com/spf13/pflag"
)

// defineThresholdFlags defines --fail-on and --junit (run, compare and the
// main job).
func (s *Spec) defineThresholdFlags(group func(title string) *pflag.FlagSet) {
	g := group("Thresholds (CI)")
	g.StringArrayVar(&s.FailOn, "fail-on", nil, "fail (exit status 99) when EXPR holds, e.g. p99(connect)>5ms, failures>0.1%, rate<10000, timeouts>0; compare: also regression(p99(transaction))>5% against the first variant, counted only when significant (repeatable, at most 100; the grammar follows the flags in --help)")
	g.StringVar(&s.JUnit, "junit", "", "write the --fail-on outcomes as JUnit XML test cases to this file")
}

// validateThresholds parses --fail-on and checks --junit; errors are usage
// errors naming the flag and what is wrong.
func (s *Spec) validateThresholds() error {
	var err error
	if s.thresholds, err = threshold.ParseAll(s.FailOn); err != nil {
		return Usagef("--fail-on %v (see connbench run --help)", err)
	}
	if s.JUnit != "" && len(s.FailOn) == 0 {
		return Usagef("--junit %s: needs at least one --fail-on (the thresholds are its test cases)", s.JUnit)
	}
	if s.JUnit == "-" {
		return Usagef("--junit -: stdout is for the table or -o -; name a file (or /dev/stdout)")
	}
	if err := results.CheckOutputs(map[string]string{"-o": s.Output, "--hlog": s.HLog, "--hgrm": s.HGrm, "--junit": s.JUnit}); err != nil {
		return Usagef("%v", err)
	}
	return nil
}

// checkThresholdPlan refuses what a plan cannot evaluate: a regression
// needs a baseline, which only compare has (its first variant).
func (s *Spec) checkThresholdPlan(compare bool) error {
	if !compare || s.MainJob {
		for _, e := range s.thresholds {
			if e.Regression {
				return Usagef("--fail-on %q: regression() needs a baseline: use it with compare (against the first variant) or report --baseline OLD.json NEW.json", e.Text)
			}
		}
	}
	if s.JUnit != "" {
		if err := results.CheckWritable(s.JUnit); err != nil {
			return fmt.Errorf("--junit %s", err)
		}
	}
	return nil
}

// checkRegressionVariants refuses a regression() in a comparison of n < 2
// variants: the first is the baseline, and there would be nothing to
// judge against it.
func (s *Spec) checkRegressionVariants(n int) error {
	for _, e := range s.thresholds {
		if e.Regression && n < 2 {
			return Usagef("--fail-on %q: regression() judges each variant against the first, and this comparison has one (to compare with an earlier file use report --baseline)", e.Text)
		}
	}
	return nil
}

// CheckThresholds evaluates the --fail-on expressions of s on doc's
// variants (each the median of its repetitions; a regression against the
// first variant), records the outcomes in doc.Thresholds, and returns a
// *threshold.FailedError when any failed.
func CheckThresholds(doc *results.Document, s *Spec) error {
	if len(s.thresholds) == 0 || len(doc.Runs) == 0 {
		return nil
	}
	groups := results.Groups(doc)
	base := make([]results.Group, len(groups))
	for i := 1; i < len(groups); i++ {
		base[i] = groups[0]
	}
	doc.Thresholds = threshold.Evaluate(s.thresholds, groups, base)
	return threshold.Failed(doc.Thresholds)
}

// writeJUnit writes doc's threshold outcomes to --junit, by results.Write's
// rules.
func writeJUnit(doc *results.Document, file string, stdout io.Writer) error {
	err := results.Write(file, stdout, func(w io.Writer) error {
		return view.WriteJUnit(w, doc.Thresholds, "connbench thresholds", doc.StartedAt, doc.Host.Hostname)
	})
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
